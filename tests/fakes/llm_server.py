"""A local HTTP server that speaks the two LLM APIs Ultudy uses, with scripted answers.

No paid model can run in the tests, so this stands in for one over real HTTP:

* OpenAI chat completions: `POST /v1/chat/completions` (key in `Authorization: Bearer`);
* Gemini: `POST /v1beta/models/{model}:generateContent` (key in `x-goog-api-key`).

Each request is recorded. Each answer is the next scripted `Reply` (the last one repeats):
`Reply.content(text)` is the model's text, wrapped in the envelope of the API that was
called; `Reply.error(status, message)` is an error in that API's format; `Reply.raw(...)`
is sent as is. With `api_key` set, a request without that key gets the API's own answer to
a bad key (OpenAI: 401; Gemini: 400 API_KEY_INVALID).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

OPENAI_PATH = "/v1/chat/completions"
GEMINI_PATH_RE = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")

Api = Literal["openai", "gemini"]


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    api: Api | None
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    kind: Literal["content", "error", "raw"]
    status: int = 200
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish: str | None = None

    @classmethod
    def content(cls, text: str | dict[str, Any], *, finish: str | None = None) -> Reply:
        """The model answers `text` (a dict is sent as its JSON)."""
        body = text if isinstance(text, str) else json.dumps(text)
        return cls("content", text=body, finish=finish)

    @classmethod
    def error(cls, status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
        return cls("error", status=status, text=message, headers=headers or {})

    @classmethod
    def raw(cls, status: int, body: str, *, headers: dict[str, str] | None = None) -> Reply:
        return cls("raw", status=status, text=body, headers=headers or {})

    @classmethod
    def slow(cls, delay_s: float, text: str | dict[str, Any]) -> Reply:
        reply = cls.content(text)
        return cls("content", text=reply.text, delay_s=delay_s)


def _openai_envelope(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None},
                "finish_reason": reply.finish or "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _gemini_envelope(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": reply.text}]},
                "finishReason": reply.finish or "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10},
        "modelVersion": model,
    }


def _error_body(api: Api | None, status: int, message: str) -> dict[str, Any]:
    if api == "gemini":
        name = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(
            status, "UNAVAILABLE" if status >= 500 else "RESOURCE_EXHAUSTED"
        )
        return {"error": {"code": status, "message": message, "status": name}}
    return {"error": {"message": message, "type": "fake_error", "code": status}}


class FakeLLMServer:
    """Serves scripted answers on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; the last one repeats."""
        with self._lock:
            self._script = list(replies)

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self) -> Reply:
        with self._lock:
            if not self._script:
                return Reply.error(500, "no scripted reply")
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _key_ok(self, api: Api, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        if api == "openai":
            return headers.get("authorization") == f"Bearer {self.api_key}"
        return headers.get("x-goog-api-key") == self.api_key

    def answer(
        self, api: Api | None, model: str, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str], float]:
        """(status, body, headers, delay) for a request."""
        if api is None:
            return 404, _error_body(None, 404, "unknown path"), {}, 0.0
        if not self._key_ok(api, headers):
            if api == "gemini":
                message = "API key not valid. Please pass a valid API key."
                return 400, _error_body(api, 400, message), {}, 0.0
            return 401, _error_body(api, 401, "Incorrect API key provided."), {}, 0.0
        reply = self._next_reply()
        if reply.kind == "raw":
            return reply.status, reply.text, reply.headers, reply.delay_s
        if reply.kind == "error":
            return reply.status, _error_body(api, reply.status, reply.text), reply.headers, 0.0
        envelope = _openai_envelope if api == "openai" else _gemini_envelope
        return 200, envelope(reply, model), {}, reply.delay_s

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {key.lower(): value for key, value in self.headers.items()}
                api, model = _route(self.path, body)
                server._record(Recorded(api, "POST", self.path, headers, body))
                status, payload, extra, delay = server.answer(api, model, headers)
                if delay:
                    time.sleep(delay)
                self._send(status, payload, extra)

            def _send(self, status: int, payload: Any, extra: dict[str, str]) -> None:
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                try:
                    self.send_response(status, HTTPStatus(status).phrase)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in extra.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # The client gave up (a timeout test).

        return Handler


def _route(path: str, body: Any) -> tuple[Api | None, str]:
    if path == OPENAI_PATH:
        model = body.get("model", "") if isinstance(body, dict) else ""
        return "openai", str(model)
    match = GEMINI_PATH_RE.match(path)
    if match:
        return "gemini", match.group("model")
    return None, ""


@contextmanager
def running(*, api_key: str | None = None) -> Iterator[FakeLLMServer]:
    """A started server, stopped on exit."""
    server = FakeLLMServer(api_key=api_key).start()
    try:
        yield server
    finally:
        server.stop()
