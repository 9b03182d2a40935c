"""The two providers behind `LLMClient`, and picking one from the settings.

* `OpenAICompatibleClient` — `POST {base_url}/chat/completions` with a strict
  `json_schema` response format (OpenAI, Ollama, vLLM, LM Studio, ...);
* `GeminiClient` — `POST {base_url}/models/{model}:generateContent` with
  `responseMimeType: application/json` and a `responseSchema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ultudy.errors import LLMError
from ultudy.study.llm.client import LLMClient, LLMRetryableError, b64, parse_json_object, post_json

OPENAI_BASE_URL = "https://api.openai.com/v1"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"


class OpenAICompatibleClient(LLMClient):
    """OpenAI's chat completions API, as OpenAI, Ollama, vLLM and LM Studio serve it."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._transport = transport

    def _request(
        self, system: str, prompt: str, schema: dict[str, Any], images: Sequence[bytes] = ()
    ) -> dict[str, Any]:
        """The request body; the schema's "title" becomes the json_schema's name."""
        content: Any = prompt
        if images:
            content = [{"type": "text", "text": prompt}] + [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(png)}"}}
                for png in images
            ]
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": content},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": str(schema.get("title") or "answer"),
                    "schema": _without_title(schema),
                    "strict": True,
                },
            },
        }

    async def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any], images: Sequence[bytes] = ()
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        payload = await post_json(
            self.name,
            self._url,
            headers=headers,
            body=self._request(system, prompt, schema, images),
            timeout_s=self._timeout_s,
            transport=self._transport,
        )
        return parse_json_object(_openai_content(payload))


def _without_title(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema minus its top-level "title" (used as the json_schema name instead)."""
    return {key: value for key, value in schema.items() if key != "title"}


def _openai_content(payload: dict[str, Any]) -> str:
    try:
        choice = payload["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as error:
        raise LLMRetryableError("the answer has no choices[0].message") from error
    if message.get("refusal"):
        raise LLMError(f"The language model refused to answer: {message['refusal']}")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise LLMRetryableError(
            f"the answer is empty (finish_reason {choice.get('finish_reason')})"
        )
    if choice.get("finish_reason") == "length":
        raise LLMRetryableError("the answer was cut off (finish_reason length)")
    return content


class GeminiClient(LLMClient):
    """Google's Gemini API (generateContent with a JSON response schema)."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str = GEMINI_BASE_URL,
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = f"gemini:{model}"
        self.model = model
        self._url = f"{base_url.rstrip('/')}/models/{model}:generateContent"
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._transport = transport

    def _request(
        self, system: str, prompt: str, schema: dict[str, Any], images: Sequence[bytes] = ()
    ) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"text": prompt}]
        parts += [{"inline_data": {"mime_type": "image/png", "data": b64(png)}} for png in images]
        return {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": to_gemini_schema(schema),
            },
        }

    async def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any], images: Sequence[bytes] = ()
    ) -> dict[str, Any]:
        payload = await post_json(
            self.name,
            self._url,
            headers={"x-goog-api-key": self._api_key},
            body=self._request(system, prompt, schema, images),
            timeout_s=self._timeout_s,
            transport=self._transport,
        )
        return parse_json_object(_gemini_text(payload))


def _gemini_text(payload: dict[str, Any]) -> str:
    block = (payload.get("promptFeedback") or {}).get("blockReason")
    if block:
        raise LLMError(f"The language model refused to answer (blocked: {block})")
    try:
        candidate = payload["candidates"][0]
        parts = candidate["content"]["parts"]
    except (KeyError, IndexError, TypeError) as error:
        raise LLMRetryableError("the answer has no candidates[0].content.parts") from error
    text = "".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))
    if not text.strip():
        reason = candidate.get("finishReason")
        raise LLMRetryableError(f"the answer is empty (finishReason {reason})")
    if candidate.get("finishReason") == "MAX_TOKENS":
        raise LLMRetryableError("the answer was cut off (finishReason MAX_TOKENS)")
    return text


_SCHEMA_KEYS = ("description", "enum", "format", "minItems", "maxItems", "minimum", "maximum")


def to_gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema in Gemini's OpenAPI subset: TYPE names, `nullable`, `propertyOrdering`."""
    types = schema.get("type", "object")
    kinds = [types] if isinstance(types, str) else list(types)
    nullable = "null" in kinds
    kind = next((k for k in kinds if k != "null"), "string")
    result: dict[str, Any] = {"type": kind.upper()}
    if nullable:
        result["nullable"] = True
    result.update({key: schema[key] for key in _SCHEMA_KEYS if key in schema})
    if "properties" in schema:
        properties = schema["properties"]
        result["properties"] = {name: to_gemini_schema(sub) for name, sub in properties.items()}
        result["propertyOrdering"] = list(properties)
        result["required"] = list(schema.get("required", properties))
    if "items" in schema:
        result["items"] = to_gemini_schema(schema["items"])
    return result


OPENAI_COMPATIBLE = frozenset({"openai", "openai-compatible", "ollama", "vllm", "lmstudio"})


def make_llm_client(
    *, provider: str, base_url: str | None, api_key: str | None, model: str | None
) -> LLMClient | None:
    """The client for the `ULTUDY_LLM_*` settings; None for "offline" (no language model).

    "openai" defaults its base URL to OpenAI's; "openai-compatible" (also "ollama", "vllm",
    "lmstudio") needs one; "gemini" needs an API key.
    """
    kind = provider.strip().lower()
    if kind == "offline":
        return None
    if kind not in OPENAI_COMPATIBLE | {"gemini"}:
        known = ", ".join(sorted(OPENAI_COMPATIBLE | {"gemini", "offline"}))
        raise ValueError(f"Unknown LLM provider {provider!r}: use one of {known}")
    if not model:
        raise ValueError(f"The LLM provider {provider!r} needs a model (ULTUDY_LLM_MODEL)")
    if kind == "gemini":
        if not api_key:
            raise ValueError("The LLM provider 'gemini' needs an API key (ULTUDY_LLM_API_KEY)")
        return GeminiClient(api_key=api_key, model=model, base_url=base_url or GEMINI_BASE_URL)
    if kind == "openai":
        base_url = base_url or OPENAI_BASE_URL
    if not base_url:
        raise ValueError(f"The LLM provider {provider!r} needs a base URL (ULTUDY_LLM_BASE_URL)")
    return OpenAICompatibleClient(base_url=base_url, api_key=api_key, model=model)
