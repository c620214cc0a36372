"""Exceptions that carry a user-facing message and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_NEEDS_INPUT = 3
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input or bad files: shown as one clear message, never a traceback."""

    exit_code = EXIT_USAGE


class InputError(UserError):
    """The text the user gave cannot be understood (bad port, bad host...)."""


class RuleFileError(UserError):
    """One or more rule or knowledge-base files are invalid.

    `problems` holds every error found, each already formatted as
    `file:line:column: rule-id: field: message`.
    """

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
