"""The pure part of the unix_servers check: which listening paths an app
server's command line names."""

from __future__ import annotations

from assistant.facts.unix_servers import named_paths

PATHS = ["/run/docker.sock", "/tmp/app/gunicorn.sock", "/tmp/api.sock"]


def test_an_app_server_naming_its_socket() -> None:
    cmd = b"/venv/bin/python /venv/bin/gunicorn --bind unix:/tmp/app/gunicorn.sock wsgi:app"
    assert named_paths(cmd, PATHS) == ["/tmp/app/gunicorn.sock"]
    assert named_paths(b"uvicorn app:app --uds /tmp/api.sock", PATHS) == ["/tmp/api.sock"]


def test_a_daemon_keeping_its_own_socket_is_no_app_server() -> None:
    assert named_paths(b"/usr/bin/dockerd -H unix:///run/docker.sock", PATHS) == []
    assert named_paths(b"redis-server --unixsocket /tmp/api.sock", PATHS) == []


def test_an_app_server_naming_no_listening_path() -> None:
    assert named_paths(b"gunicorn --bind 127.0.0.1:8000 wsgi:app", PATHS) == []
