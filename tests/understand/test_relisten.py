"""A pasted server command moved to the next port, in the program's own form."""

from __future__ import annotations

import pytest

from assistant.understand.relisten import another_port


@pytest.mark.parametrize("line,port,expected", [
    ("gunicorn -b 127.0.0.1:8000 wsgi:app", 8000, "gunicorn -b 127.0.0.1:8001 wsgi:app"),
    ("gunicorn --bind=0.0.0.0:8000 app:app", 8000, "gunicorn --bind=127.0.0.1:8001 app:app"),
    ("gunicorn wsgi:app", 8000, "gunicorn -b 127.0.0.1:8001 wsgi:app"),
    ("php -S 0.0.0.0:8000", 8000, "php -S 127.0.0.1:8001"),
    ("php -S localhost:8080 -t public", 8080, "php -S localhost:8081 -t public"),
    ("uvicorn asgi:app --port 8001", 8001, "uvicorn asgi:app --port 8002"),
    ("uvicorn asgi:app", 8000, "uvicorn asgi:app --port 8001"),
    ("python3 -m http.server 8000", 8000, "python3 -m http.server 8001 --bind 127.0.0.1"),
    ("python3 -m http.server --bind 127.0.0.1 8000", 8000,
     "python3 -m http.server --bind 127.0.0.1 8001"),
    ("PORT=3000 npm start", 3000, "PORT=3001 npm start"),
    ("flask run --port 5000", 5000, "flask run --port 5001"),
    ("flask --app hello run", 5000, "flask --app hello run --port 5001"),
    ("python manage.py runserver 0.0.0.0:8000", 8000, "python manage.py runserver 127.0.0.1:8001"),
    ("npx vite --port 5173", 5173, "npx vite --port 5174"),
    ("node server.js 3000", 3000, "node server.js 3001"),
    ("rails s -p 3000", 3000, "rails s -p 3001"),
])
def test_the_programs_own_form(line: str, port: int, expected: str) -> None:
    assert another_port(f"$ {line}\nError: address already in use", port) == expected


@pytest.mark.parametrize("text", [
    "$ npm start\nError: listen EADDRINUSE: address already in use :::3000",  # the port is in code
    "$ node server.js\nError: listen EADDRINUSE: address already in use :::3000",
    "Error: listen EADDRINUSE: address already in use :::3000",  # no command at all
    "$ curl http://127.0.0.1:3000/\ncurl: (7) Failed to connect",  # a client
])
def test_no_form_without_a_server_command_that_names_it(text: str) -> None:
    assert another_port(text, 3000) is None
