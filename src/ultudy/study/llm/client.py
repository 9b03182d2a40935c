"""One small interface to language models, and the HTTP call under both providers.

`LLMClient.complete_json` sends a system text, a prompt and a JSON schema and returns the
model's JSON answer as a dict. A failure that may pass — no connection, a timeout, HTTP
429 or 5xx, an answer that is not JSON — is an `LLMRetryableError`; an answer that will
not change by asking again — a rejected key, an unknown model, a refusal — is an
`LLMError` at once.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from ultudy.errors import LLMError

logger = logging.getLogger(__name__)
RETRY_AFTER_CAP_S = 10.0


class LLMRetryableError(LLMError):
    """The language model did not give a usable answer this time; asking again may help.

    `unavailable` is true when the service did not answer (no connection, a timeout, HTTP
    429 or 5xx) and false when it answered with something unusable (not JSON, cut off).
    The message is plain words a student may read; `detail` (the provider, its own error
    text, the exception) goes only to the logs.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        unavailable: bool = False,
        retry_after_s: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.unavailable = unavailable
        self.retry_after_s = retry_after_s
        self.detail = detail or self.message


class LLMClient(Protocol):
    """A language model that answers a prompt with JSON that follows a schema."""

    name: str

    async def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any], images: Sequence[bytes] = ()
    ) -> dict[str, Any]: ...


class _BorrowedTransport(httpx.AsyncBaseTransport):
    """A caller's transport, used by a short-lived AsyncClient without being closed by it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


def _error_detail(response: httpx.Response) -> str:
    """The provider's own error message, if it sent one ({"error": {"message": ...}})."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or "")[:200]
    return str(error or "")[:200]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["retry-after"]), RETRY_AFTER_CAP_S)
    except (KeyError, ValueError):
        return None


FIX_SETTINGS = "the server's language model settings need fixing"


def _check_status(provider: str, response: httpx.Response) -> None:
    """Raise for an error status: retryable for 408/409/429/5xx, `LLMError` otherwise.

    The messages reach students (a job's error), so they name no setting, URL, model or
    key; the provider's own words, which may quote any of these, are logged instead."""
    status = response.status_code
    if status < 400:
        return
    detail = f"{provider} answered HTTP {status}: {_error_detail(response)}"
    if status in (408, 409, 429) or status >= 500:
        raise LLMRetryableError(
            f"the service answered HTTP {status}",
            unavailable=True,
            retry_after_s=_retry_after(response),
            detail=detail,
        )
    logger.error("language model request refused: %s", detail)
    if status in (401, 403) or "api key" in detail.lower():
        message = f"The language model service rejected our credentials (HTTP {status})"
    elif status == 404:
        message = "The language model service does not offer what we asked for (HTTP 404)"
    else:
        message = f"The language model service refused the request (HTTP {status})"
    raise LLMError(f"{message}; {FIX_SETTINGS}.")


async def post_json(
    provider: str,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any],
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, Any]:
    borrowed = _BorrowedTransport(transport) if transport is not None else None
    try:
        async with httpx.AsyncClient(transport=borrowed, timeout=timeout_s) as http:
            response = await http.post(url, headers=headers, json=body)
    except httpx.TimeoutException as error:
        message = f"the service did not answer within {timeout_s:g} s"
        detail = f"{provider} did not answer within {timeout_s:g} s"
        raise LLMRetryableError(message, unavailable=True, detail=detail) from error
    except httpx.TransportError as error:
        detail = f"{provider} could not be reached ({type(error).__name__}: {error})"
        raise LLMRetryableError("no connection", unavailable=True, detail=detail) from error
    _check_status(provider, response)
    try:
        payload = response.json()
    except ValueError as error:
        raise LLMRetryableError("the service sent a response that is not JSON") from error
    if not isinstance(payload, dict):
        raise LLMRetryableError("the service sent an unexpected response")
    return payload


_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's text answer (a ```json fence around it is allowed)."""
    fenced = _FENCE_RE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as error:
        raise LLMRetryableError(f"the answer is not valid JSON ({error.msg})") from error
    if not isinstance(value, dict):
        raise LLMRetryableError("the answer is JSON but not an object")
    return value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
