"""The app under uvicorn (ASGI) in a thread, for tests and benchmarks that need the live event stream.

pytest-django's `live_server` is a WSGI server, which cannot hold a server-sent-events stream open.
`AsgiServer` serves the same application the way `make run` does, on a free loopback port. With the
in-memory SQLite test database, every request uses the test's own connection (as `live_server` does),
so the server sees what the test wrote and the test sees what the server wrote.

`SseClient` opens the event stream with a session cookie and reads one event at a time.
"""

import contextlib
import http.client
import queue
import socket
import threading
import time

import uvicorn
from django.db import connections


class _SharedConnections:
    """Hand the test's in-memory SQLite connections to every request (and the threads it starts)."""

    def __init__(self, app, overrides):
        self.app = app
        self.overrides = overrides

    async def __call__(self, scope, receive, send):
        for alias, connection in self.overrides.items():
            connections[alias] = connection  # context-local: inherited by the request's sync threads
        await self.app(scope, receive, send)


class AsgiServer:
    def __init__(self, host: str = "127.0.0.1"):
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        self.overrides = {
            c.alias: c for c in connections.all(initialized_only=False) if c.vendor == "sqlite" and c.is_in_memory_db()
        }
        app = ASGIStaticFilesHandler(get_asgi_application())
        if self.overrides:
            app = _SharedConnections(app, self.overrides)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, 0))
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="uvicorn", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10) -> "AsgiServer":
        for connection in self.overrides.values():
            connection.inc_thread_sharing()
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
        for connection in self.overrides.values():
            connection.dec_thread_sharing()

    def __enter__(self) -> "AsgiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def session_cookie(user) -> str:
    """A `Cookie:` header value for a fresh session signed in as `user` (no password needed)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class SseClient:
    """One open event stream; a reader thread queues its messages (each a list of lines)."""

    def __init__(self, server: AsgiServer, *, cookie: str = "", path: str = "/live/events/", timeout: float = 60):
        self.connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = cookie
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self.messages: queue.Queue[list[str] | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, name="sse-client", daemon=True)
        if self.status == 200:
            self.reader.start()
        else:
            self.body = self.response.read()

    def _read(self) -> None:
        lines: list[str] = []
        try:
            while line := self.response.readline():
                line = line.decode().rstrip("\r\n")
                if line:
                    lines.append(line)
                elif lines:
                    self.messages.put(lines)
                    lines = []
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by us, or the server went away
        self.messages.put(None)  # end of stream

    def _next(self, deadline: float) -> list[str] | None:
        try:
            return self.messages.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            return None

    def wait_connected(self, timeout: float = 5) -> None:
        """Wait for the server's `: connected` comment: from then on, published events arrive."""
        deadline = time.monotonic() + timeout
        while (block := self._next(deadline)) is not None:
            if ": connected" in block:
                return
        raise AssertionError("the event stream did not say it was connected")

    def read_event(self, timeout: float) -> tuple[str, str] | None:
        """The next `event:`/`data:` message, skipping comments and `retry:`; None if none in time."""
        deadline = time.monotonic() + timeout
        while (block := self._next(deadline)) is not None:
            fields = dict(line.split(": ", 1) for line in block if not line.startswith(":") and ": " in line)
            if "event" in fields:
                return fields["event"], fields.get("data", "")
        return None

    def close(self) -> None:
        """Hang up (the server sees a disconnect), let the reader finish, then close the connection."""
        if self.connection.sock is not None:
            with contextlib.suppress(OSError):
                self.connection.sock.shutdown(socket.SHUT_RDWR)
        if self.reader.is_alive():
            self.reader.join(timeout=5)
        self.connection.close()
