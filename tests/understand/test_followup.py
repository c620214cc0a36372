"""Follow-ups in plain words: what a whole chat message says about the
conversation so far, and what stays a new problem or question."""

from __future__ import annotations

import pytest

from assistant.understand.followup import FollowUp, read


@pytest.mark.parametrize(("text", "kind"), [
    ("try again", "again"), ("ok, try again please", "again"), ("again", "again"),
    ("retry", "again"), ("check it again", "again"), ("/again", None),
    ("it works now", "works"), ("works now!", "works"), ("I started the server", "works"),
    ("the server is running now", "works"), ("that fixed it", "works"),
    ("still failing", "still"), ("it still fails", "still"), ("still not working", "still"),
    ("same error", "still"), ("didn't help", "still"), ("still refused", "still"),
    ("what's using that port?", "who"), ("who is using port 3000", "who"),
    ("what is listening there?", "who"), ("what's on it?", "who"),
    ("show me the process", "process"), ("which process is it", "process"),
    ("process details", "process"),
    ("kill it", "stop"), ("Kill it!", "stop"), ("stop the server", "stop"),
    ("free the port", "stop"), ("please kill the process", "stop"),
    ("watch it", "watch"), ("tell me when it works", "watch"), ("let me know when it's up", "watch"),
    ("keep checking", "watch"),
    ("show all os", "all-os"),
    ("yes", "yes"), ("y", "yes"), ("go ahead", "yes"), ("no", "no"), ("cancel", "no"),
])
def test_follow_ups(text: str, kind: str | None) -> None:
    got = read(text)
    assert (got.kind if got else None) == kind


@pytest.mark.parametrize(("text", "os"), [
    ("how do I do that on a mac?", "macos"), ("how do i fix it on macos", "macos"),
    ("what about windows?", "windows"), ("and on windows?", "windows"), ("on linux", "linux"),
    ("how about on a mac", "macos"), ("same for ubuntu", "linux"),
    # field trial 11: this one went to the AirPlay entry
    ("show me the commands for mac", "macos"), ("give me the windows commands", "windows"),
    ("the linux version?", "linux"), ("what are the commands on windows?", "windows"),
])
def test_another_os(text: str, os: str) -> None:
    assert read(text) == FollowUp("os", os)


@pytest.mark.parametrize("text", [
    # questions for the knowledge base, and new problems: not follow-ups
    "how do I find which app uses a port?", "how to kill a process on port 3000",
    "what is loopback", "what about loopback?", "is it safe?",
    "cannot connect to localhost:3000", "curl: (7) Failed to connect to 127.0.0.1 port 8080",
    "why does my server stop working after a while", "",
    "try again " + "x" * 200,  # a long paste is never a follow-up
])
def test_not_follow_ups(text: str) -> None:
    assert read(text) is None


@pytest.mark.parametrize(("text", "kind"), [("thanks!", "thanks"), ("thank you so much", "thanks"),
                                            ("cool", "thanks"), ("hi", "hello"),
                                            ("hey there", "hello")])
def test_small_talk(text: str, kind: str) -> None:
    got = read(text)
    assert got is not None and got.kind == kind
