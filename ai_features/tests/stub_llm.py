"""A tiny OpenAI-compatible chat completions server for tests (stdlib only), on a free loopback port.

openai 3.x talks through httpx2, so transport mocks cannot intercept it: the real `openai` and `groq`
SDKs talk to this server over HTTP instead. It serves `/v1/chat/completions` (the OpenAI SDK with
`base_url=<url>/v1`) and `/openai/v1/chat/completions` (the Groq SDK with `base_url=<url>`), plain or
streamed (`text/event-stream` chunks ending with `data: [DONE]`). Replies are scripted per request
(`then(...)`), and every request is recorded so tests can check what went into the prompt.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATHS = ("/v1/chat/completions", "/openai/v1/chat/completions")


@dataclass
class Reply:
    text: str = "Stub answer."
    status: int = 200
    delay: float = 0.0  # before anything is sent (a timeout test)
    chunk_delay: float = 0.0  # between streamed pieces
    break_after: int | None = None  # streamed: drop the connection after this many pieces
    headers: dict = field(default_factory=dict)

    def pieces(self) -> list[str]:
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        stub = self.server.stub
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        stub.requests.append({"path": self.path, "headers": headers, "body": body})
        if self.path not in PATHS:
            return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        reply = stub.next_reply()
        if reply.delay:
            time.sleep(reply.delay)
        try:
            if reply.status != 200:
                kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(reply.status, "server_error")
                error = {"message": f"stub {reply.status}", "type": kind, "code": kind}
                return self._json(reply.status, {"error": error}, reply.headers)
            if body.get("stream"):
                return self._stream(reply, body)
            return self._json(200, _completion(reply.text, body.get("model", "stub")), reply.headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _json(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply, body: dict):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        model = body.get("model", "stub")
        first = {"role": "assistant", "content": ""}
        self._event(_chunk(first, model))
        for n, piece in enumerate(reply.pieces()):
            if reply.break_after is not None and n >= reply.break_after:
                self.wfile.flush()
                self.connection.shutdown(2)  # drop the connection mid-answer
                return
            self._event(_chunk({"content": piece}, model))
            if reply.chunk_delay:
                time.sleep(reply.chunk_delay)
        self._event(_chunk({}, model, finish="stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict):
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()


def _completion(text: str, model: str) -> dict:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(delta: dict, model: str, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stub: "StubLLM"


class StubLLM:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.stub = self
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, name="stub-llm", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def groq_base_url(self) -> str:
        return self.url  # the Groq SDK adds /openai/v1/...

    def then(self, *replies: Reply) -> "StubLLM":
        self.script.extend(replies)
        return self

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.popleft() if self.script else self.default

    def start(self) -> "StubLLM":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the clients sent

    def messages(self, n: int = -1) -> list[dict]:
        return self.requests[n]["body"]["messages"]

    def prompt_text(self, n: int = -1) -> str:
        """Everything one request sent, as text (for `in` / `not in` checks)."""
        return json.dumps(self.requests[n]["body"], ensure_ascii=False)

    def everything_sent(self) -> str:
        return "\n".join(json.dumps(r["body"], ensure_ascii=False) for r in self.requests)
