"""Safe YAML loading that keeps line and column for every value.

Built on yaml.compose (no object construction at all, so tags such as
`!!python/object` are rejected, not run), with bounds on size, depth and
alias expansion (billion laughs), and duplicate keys reported as errors.

Scalars are read with YAML 1.2 core semantics, not PyYAML's YAML 1.1: only
`true`/`false` are booleans and `null`/`~`/empty is null, so `yes`, `no`,
`on`, `off`, `y` and `n` stay text (`choices: [yes, no]` are the words a
user types); `0o17` is octal, `017` is seventeen, `1:30` is text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 200_000

Path = tuple[Any, ...]

_SAFE_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema).
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


class _Core12Resolver(yaml.resolver.BaseResolver):
    """Implicit tags of the YAML 1.2 core schema, nothing else."""


for _tag, _regexp, _first in (
        ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
        ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
        ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
        ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))):
    _Core12Resolver.add_implicit_resolver(_tag, re.compile(f"^(?:{_regexp.pattern})$"), _first)

# the C parser is ~8x faster (and composes deep nesting without recursing
# in Python); fall back when libyaml is absent
try:
    import yaml.cyaml
    _Parser: Any = yaml.cyaml.CParser  # type: ignore[attr-defined]
except (ImportError, AttributeError):  # pragma: no cover
    _Parser = None


if _Parser is not None:
    class _Loader(_Parser, _Core12Resolver):
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _Core12Resolver.__init__(self)
else:  # pragma: no cover
    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                  yaml.composer.Composer, _Core12Resolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Core12Resolver.__init__(self)


@dataclass
class Loaded:
    data: Any
    marks: dict[Path, tuple[int, int]]  # path -> (line, column), 1-based

    def where(self, path: Path) -> tuple[int, int]:
        """The closest known position for `path` (walks up to a parent)."""
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))


class YamlError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line, self.column = line, column


def load(text: str) -> Loaded:
    """Parse one YAML document into plain data plus positions."""
    if len(text) > MAX_BYTES:
        raise YamlError(f"file is {len(text) // 1024} KB; the limit is {MAX_BYTES // 1024} KB")
    if "\x00" in text:
        raise YamlError("file is binary (contains NUL bytes)")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(f"YAML syntax: {exc.problem or exc}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML: {exc}") from None
    marks: dict[Path, tuple[int, int]] = {}
    if node is None:
        return Loaded(None, marks)
    counter = [0]
    return Loaded(_convert(node, (), 0, marks, counter), marks)


def scalar(node: yaml.ScalarNode) -> Any:
    """A scalar's value by the YAML 1.2 core schema (explicit tags included)."""
    value, tag = str(node.value), node.tag.rsplit(":", 1)[-1]
    try:
        if tag == "null":
            if not _NULL.fullmatch(value):
                raise ValueError
            return None
        if tag == "bool":
            if not _BOOL.fullmatch(value):
                raise ValueError
            return value.lower() == "true"
        if tag == "int":
            if value.startswith(("0o", "0x")):
                return int(value[2:], 8 if value[1] == "o" else 16)
            return int(value)
        if tag == "float":
            low = value.lower()
            if low.endswith(".inf"):
                return -math.inf if low.startswith("-") else math.inf
            return math.nan if low == ".nan" else float(value)
    except ValueError:
        mark = node.start_mark
        raise YamlError(f"{value!r} is not a valid !!{tag}", mark.line + 1,
                        mark.column + 1) from None
    return value


def _convert(node: yaml.Node, path: Path, depth: int, marks: dict[Path, tuple[int, int]],
             counter: list[int]) -> Any:
    counter[0] += 1
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if counter[0] > MAX_NODES:
        raise YamlError(f"too many values (over {MAX_NODES}; alias bomb?)", line, col)
    if depth > MAX_DEPTH:
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line, col)
    if node.tag not in _SAFE_TAGS:
        raise YamlError(f"tag {node.tag!r} is not allowed (rule files are plain data)", line, col)
    marks[path] = (line, col)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SAFE_TAGS:
                raise YamlError("mapping keys must be plain scalars",
                                key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            # Keys are text, or numbers (a test's `answers: {port: ...}` ids are text).
            key = scalar(key_node) if key_node.tag == "tag:yaml.org,2002:int" else \
                str(key_node.value)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1)
            out[key] = _convert(value_node, path + (key,), depth + 1, marks, counter)
            # Errors about a field point at its key, where a reader looks.
            marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, path + (i,), depth + 1, marks, counter)
                for i, v in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return scalar(node)
