"""Real servers a fault test starts, stops and kills: Redis, a mail server stand-in, Celery workers and beat.

Nothing here is a mock. Redis is a throwaway `redis-server` on its own port; the mail server is aiosmtpd on
loopback, which counts a message only once it has told the sender "250 accepted"; workers and beat are
`celery` processes in their own process group, so a test can kill one the way an outage or a deploy does.
The fault tests and `bench/faults.py` share these.
"""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


class RedisServer:
    """A throwaway redis-server on one port, which can be stopped and started again on that same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, interval=0.05, what="redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class _Collector:
    """aiosmtpd handler: keeps every accepted message; while `hold` is set, DATA waits for its release."""

    def __init__(self):
        self.accepted = []
        self.lock = threading.Lock()
        self.hold = None  # an asyncio.Event, set in the server's loop
        self.held = 0

    async def handle_DATA(self, server, session, envelope):
        if self.hold is not None and not self.hold.is_set():
            self.held += 1
            await self.hold.wait()
            if session.transport is None or session.transport.is_closing():
                return "451 sender gone"  # never acknowledged, so never delivered
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.accepted.append(
                {"to": list(envelope.rcpt_tos), "subject": message["Subject"], "id": message["Message-ID"]}
            )
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on loopback. `hold_after(n)` lets n more messages through, then holds every DATA."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.handler = _Collector()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller.start()

    def stop(self):
        self.release()
        self.controller.stop()

    @property
    def accepted(self) -> list[dict]:
        with self.handler.lock:
            return list(self.handler.accepted)

    def hold_after(self, n: int) -> None:
        loop = self.controller.loop
        target = len(self.accepted) + n

        async def arm():
            while len(self.accepted) < target:
                await asyncio.sleep(0.005)
            self.handler.hold = asyncio.Event()

        asyncio.run_coroutine_threadsafe(arm(), loop)

    def held(self) -> int:
        return self.handler.held

    def release(self) -> None:
        hold = self.handler.hold
        if hold is not None:
            self.controller.loop.call_soon_threadsafe(hold.set)
        self.handler.hold = None


class CeleryProcess:
    """`celery worker` or `celery beat` as its own process group, on the given environment."""

    def __init__(self, kind: str, env: dict, log: Path, *args: str):
        self.kind, self.env, self.log, self.args = kind, env, log, args
        self.process = None

    def start(self):
        command = [sys.executable, "-m", "celery", "-A", "config", self.kind, "--loglevel=INFO", *self.args]
        self.handle = open(self.log, "ab")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def wait_ready(self, timeout: float = 60):
        """A worker is ready when it logs so (its start-up sweep is then on the queue)."""
        wait_for(lambda: b"ready." in self.log.read_bytes(), timeout=timeout, what=f"{self.kind} to start")
        return self

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (parent and pool children), as a crash or a deploy does."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        self.handle.close()

    def stop(self):
        self.kill(signal.SIGTERM)


def celery_env(*, database_url: str, broker_url: str, mail_url: str, **extra) -> dict:
    """The environment of a worker or beat that shares the test's database, broker and mail server."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": "",
        "EMAIL_URL": mail_url,
        "TIMETABLE_WARM_KERNEL": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env
