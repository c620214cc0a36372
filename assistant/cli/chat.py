"""The terminal chat: prompt_toolkit around Chat. The only prompt_toolkit user,
imported only when the chat starts, so `--ask` never pays for it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from assistant.cli.env import Env
from assistant.conversation import Chat
from assistant.dirs import state_dir
from assistant.errors import EXIT_OK
from assistant.understand.redact import clean

if TYPE_CHECKING:
    from assistant.session import Session

INTRO = ("Describe the failing connection or paste the error (multi-line paste works);\n"
         "ask plain questions too. /help lists commands; Ctrl-D leaves.")


def history(environ: Mapping[str, str]) -> Any:
    """A file history in the state directory, mode 0600, credentials redacted."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    class RedactingHistory(FileHistory):
        def append_string(self, string: str) -> None:
            super().append_string(clean(string))

        def store_string(self, string: str) -> None:
            super().store_string(clean(string))

    base = state_dir(environ)
    if base is None:
        return InMemoryHistory()
    try:
        base.mkdir(parents=True, exist_ok=True)
        path = base / "history"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)
        return RedactingHistory(str(path))
    except OSError:
        return InMemoryHistory()


def run(session: Session, env: Env, color: bool, pt_input: Any = None, pt_output: Any = None
        ) -> int:
    """Chat until Ctrl-D or /quit. Ctrl-C cancels the input or a running check."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.styles import Style

    out = env.stdout

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    width = max(40, min(shutil.get_terminal_size((80, 24)).columns, 120))
    chat = Chat(session, say, color=color, width=width)

    class Choices(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Any:
            word = document.text_before_cursor.lstrip()
            if " " in word and not word.startswith("/report"):
                return
            for option in chat.completions():
                if option.lower().startswith(word.lower()) and option != word:
                    yield Completion(option, start_position=-len(word))

    style = Style.from_dict({"bottom-toolbar": "noreverse" if not color else "reverse"})
    prompt: PromptSession[str] = PromptSession(
        history=history(env.environ), auto_suggest=AutoSuggestFromHistory(),
        completer=Choices(), complete_while_typing=False, bottom_toolbar=chat.toolbar,
        style=style, color_depth=None if color else _mono(), input=pt_input, output=pt_output,
        enable_history_search=True)
    say(INTRO)
    for warning in session.warnings:
        say(f"note: {warning}")
    while True:
        try:
            line = prompt.prompt("? " if chat.pending else "> ")
        except KeyboardInterrupt:
            continue  # Ctrl-C: drop this input, stay
        except EOFError:
            say("")
            return EXIT_OK
        try:
            if not chat.handle(line):
                return EXIT_OK
        except KeyboardInterrupt:
            say("Cancelled.")


def _mono() -> Any:
    from prompt_toolkit.output import ColorDepth

    return ColorDepth.DEPTH_1_BIT
