"""Where rules come from, in order (later overrides earlier), and trust.
The one place that finds rule directories and files: the session and the
`rules` tools both ask here.

built-in < /etc/assistant/rules.d < the user's config dir (XDG) < the
project's .assistant/rules.d (found upward from the current directory, used
only once trusted) < ASSISTANT_RULES_PATH < --rules DIR.

Trust works as direnv's does: `assistant rules trust [DIR]` records the
directory with a hash of its rule files' names and contents; a directory
that is untrusted, or changed since it was trusted, is reported and skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from assistant.dirs import atomic_write, config_home, data_dir, data_home
from assistant.errors import UserError

SYSTEM_DIR = Path("/etc/assistant/rules.d")
PROJECT_DIR = Path(".assistant") / "rules.d"


class RuleDir(NamedTuple):
    path: Path
    origin: str  # built-in | system | user | project | env | cli


class SearchPath(NamedTuple):
    dirs: list[RuleDir]
    skipped: list[str]  # human messages: untrusted or changed project directories


def find_project(start: Path) -> Path | None:
    """The nearest .assistant/rules.d from `start` upward (unreadable places skipped)."""
    for d in [start, *start.parents]:
        candidate = d / PROJECT_DIR
        try:
            if candidate.is_dir():
                return candidate
        except OSError:
            continue
    return None


def content_hash(directory: Path) -> str:
    """Hash of every YAML file's name and bytes (tests included: they are code
    reviewers read too)."""
    import hashlib  # here: only a project's rules need it, and it loads libcrypto

    h = hashlib.sha256(b"assistant-trust-1\0")
    for p in sorted(directory.glob("*.yaml")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _trust_file(environ: Mapping[str, str]) -> Path | None:
    base = data_home(environ)
    return base / "assistant" / "trusted.json" if base else None


def trusted(environ: Mapping[str, str]) -> dict[str, str]:
    f = _trust_file(environ)
    try:
        data = json.loads(f.read_text()) if f and f.is_file() else {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def trust(directory: Path, environ: Mapping[str, str]) -> str:
    """Record `directory` as trusted at its current content; returns the hash."""
    f = _trust_file(environ)
    if f is None:
        raise OSError("no home or XDG_DATA_HOME to record trust in")
    entries = trusted(environ)
    digest = content_hash(directory)
    entries[str(directory.resolve())] = digest
    atomic_write(f, json.dumps(entries, indent=1, sort_keys=True), prefix=".trusted-")
    return digest


def untrust(directory: Path, environ: Mapping[str, str]) -> bool:
    f = _trust_file(environ)
    entries = trusted(environ)
    if f is None or entries.pop(str(directory.resolve()), None) is None:
        return False
    atomic_write(f, json.dumps(entries, indent=1, sort_keys=True), prefix=".trusted-")
    return True


def _usable(path: Path, skipped: list[str]) -> bool:
    """Whether `path` is a directory we may read; a note when it is there but
    not readable (a HOME shared between users, a 0700 parent)."""
    try:
        if not path.is_dir():
            return False
    except OSError as exc:
        skipped.append(f"{path}: {exc.strerror or exc}, so not used")
        return False
    if not os.access(path, os.R_OK | os.X_OK):
        skipped.append(f"{path}: not readable, so not used")
        return False
    return True


def search_path(environ: Mapping[str, str], cwd: Path, extra: list[Path]) -> SearchPath:
    dirs = [RuleDir(data_dir("rules"), "built-in")]
    skipped: list[str] = []
    if _usable(SYSTEM_DIR, skipped):
        dirs.append(RuleDir(SYSTEM_DIR, "system"))
    home = config_home(environ)
    if home and _usable(home / "assistant" / "rules.d", skipped):
        dirs.append(RuleDir(home / "assistant" / "rules.d", "user"))
    project = find_project(cwd)
    named = {d.resolve() for d in extra}
    if project is not None and project.resolve() in named:
        project = None  # named explicitly (a pre-commit hook in the team's repo): used as --rules
    if project is not None:
        known = trusted(environ).get(str(project.resolve()))
        if known is None:
            skipped.append(f"{project}: not trusted, so not used; review it, then run "
                           f"`assistant rules trust {project}`")
        elif known != content_hash(project):
            skipped.append(f"{project}: changed since it was trusted, so not used; review the "
                           f"change, then run `assistant rules trust {project}` again")
        else:
            dirs.append(RuleDir(project, "project"))
    for d in environ.get("ASSISTANT_RULES_PATH", "").split(os.pathsep):
        if d:
            dirs.append(RuleDir(Path(d), "env"))
    dirs += [RuleDir(d, "cli") for d in extra]
    return SearchPath(_once(dirs, skipped), skipped)


def _once(dirs: list[RuleDir], notes: list[str]) -> list[RuleDir]:
    """Each folder once, at its first place (one named in ASSISTANT_RULES_PATH
    and --rules would otherwise "redefine" its own rules); a note for a folder
    with no rule files, which silently adds nothing."""
    out: list[RuleDir] = []
    seen: set[Path] = set()
    for d in dirs:
        key = d.path.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
        if d.origin != "built-in" and d.path.is_dir() and not rule_files(d.path):
            inner = sorted(sub for sub in d.path.iterdir() if sub.is_dir() and rule_files(sub))
            hint = f"; did you mean {inner[0]}?" if inner else ""
            notes.append(f"{d.path}: no rule files (*.yaml other than *.test.yaml) in this "
                         f"folder, so it adds no rules{hint}")
    return out


def rule_files(directory: Path) -> list[Path]:
    """Rule files in a directory, test files excluded, in name order."""
    return sorted(p for p in directory.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def files_of(found: SearchPath) -> list[Path]:
    """Every rule file on a search path, in order; a missing directory is a
    usage error naming it."""
    files: list[Path] = []
    for d in found.dirs:
        if not d.path.is_dir():
            raise UserError(f"rule directory {d.path} does not exist")
        files += rule_files(d.path)
    return files
