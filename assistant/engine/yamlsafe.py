"""Safe YAML loading that keeps line and column for every value.

Built on yaml.compose (no object construction at all, so tags such as
`!!python/object` are rejected, not run), with bounds on size, depth and
alias expansion (billion laughs), and duplicate keys reported as errors.
"""

from __future__ import annotations

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

try:  # the C composer is ~8x faster; fall back when libyaml is absent
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


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
    constructor = yaml.constructor.SafeConstructor()
    return Loaded(_convert(node, (), 0, marks, counter, constructor), marks)


def _convert(node: yaml.Node, path: Path, depth: int, marks: dict[Path, tuple[int, int]],
             counter: list[int], constructor: Any) -> Any:
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
            key = constructor.construct_scalar(key_node)
            if key_node.tag == "tag:yaml.org,2002:int":
                key = constructor.construct_object(key_node)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1)
            out[key] = _convert(value_node, path + (key,), depth + 1, marks, counter, constructor)
            # Errors about a field point at its key, where a reader looks.
            marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, path + (i,), depth + 1, marks, counter, constructor)
                for i, v in enumerate(node.value)]
    return constructor.construct_object(node)
