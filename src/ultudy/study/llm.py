"""Language models behind one small interface, and the lesson engine and grader that use them.

`LLMClient.complete_json` sends a system text, a prompt and a JSON schema and returns the
model's JSON answer as a dict. Two providers speak it:

* `OpenAICompatibleClient` — `POST {base_url}/chat/completions` with a strict
  `json_schema` response format (OpenAI, Ollama, vLLM, LM Studio, ...);
* `GeminiClient` — `POST {base_url}/models/{model}:generateContent` with
  `responseMimeType: application/json` and a `responseSchema`.

A failure that may pass — no connection, a timeout, HTTP 429 or 5xx, an answer that is not
JSON — is an `LLMRetryableError`; an answer that will not change by asking again — a
rejected key, an unknown model, a refusal — is an `LLMError` at once. `LLMLessonEngine`
and `LLMGrader` validate the answer with pydantic and ask again (with a short backoff, and
the reason in the prompt) up to `max_attempts` times, then raise `LLMError`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ultudy.errors import LLMError, LLMUnavailableError
from ultudy.study.grading import FreeTextGrade
from ultudy.study.lessons import (
    ConceptDraft,
    LessonDraft,
    LessonEngine,
    QuestionDraft,
    SectionInput,
)

logger = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
MAX_SECTION_CHARS = 24_000
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


# --- HTTP ------------------------------------------------------------------------------


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


async def _post_json(
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


# --- Providers -------------------------------------------------------------------------


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
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(png)}"}}
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
        payload = await _post_json(
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
        parts += [{"inline_data": {"mime_type": "image/png", "data": _b64(png)}} for png in images]
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
        payload = await _post_json(
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


# --- Asking until the answer is valid --------------------------------------------------

ModelT = TypeVar("ModelT", bound=BaseModel)


def _short_reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:2]:
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@dataclass(frozen=True, kw_only=True)
class _Request:
    what: str
    system: str
    prompt: str
    schema: dict[str, Any]
    images: tuple[bytes, ...] = ()


async def _ask(
    client: LLMClient,
    request: _Request,
    model: type[ModelT],
    *,
    max_attempts: int,
    backoff_s: float,
) -> ModelT:
    """Ask until the answer validates; `LLMError` after `max_attempts` failures."""
    reason, unavailable = "no attempt was made", False
    prompt = request.prompt
    for attempt in range(1, max_attempts + 1):
        delay = backoff_s * 2 ** (attempt - 1)
        try:
            answer = await client.complete_json(
                system=request.system, prompt=prompt, schema=request.schema, images=request.images
            )
            return model.model_validate(answer)
        except LLMRetryableError as error:
            reason, unavailable = error.message, error.unavailable
            delay = max(delay, error.retry_after_s or 0.0)
            logged = error.detail
        except ValidationError as error:
            reason, unavailable = _short_reason(error), False
            prompt = f"{request.prompt}\n\nYour previous answer was invalid: {reason}. Fix it."
            logged = reason
        logger.warning("%s: attempt %d/%d failed: %s", client.name, attempt, max_attempts, logged)
        if attempt < max_attempts:
            await asyncio.sleep(delay)
    if unavailable:
        raise LLMUnavailableError(
            f"The language model could not be reached for a {request.what} "
            f"({max_attempts} attempts): {reason}"
        )
    raise LLMError(
        f"The language model returned an invalid {request.what} {max_attempts} times: {reason}"
    )


# --- Lessons ---------------------------------------------------------------------------


class _ConceptAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    explanation: str = Field(min_length=1)


class _QuestionAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    type: Literal["mcq", "short"]
    prompt: str = Field(min_length=1)
    concept: str = Field(min_length=1)
    choices: list[str] = Field(default_factory=list)
    answer_index: int | None = None
    reference_answer: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> _QuestionAnswer:
        if self.type == "mcq":
            if len(self.choices) != 4:
                raise ValueError(f"an mcq needs exactly 4 choices, not {len(self.choices)}")
            if any(not choice for choice in self.choices):
                raise ValueError("an mcq choice is empty")
            if len({choice.casefold() for choice in self.choices}) != 4:
                raise ValueError("the 4 choices of an mcq must differ")
            if self.answer_index is None or not 0 <= self.answer_index < 4:
                raise ValueError(f"an mcq needs an answer_index 0-3, not {self.answer_index}")
        elif not self.reference_answer:
            raise ValueError("a short question needs a reference_answer")
        return self


class _LessonAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    summary: str = Field(min_length=1)
    concepts: list[_ConceptAnswer] = Field(min_length=1, max_length=15)
    questions: list[_QuestionAnswer] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check_concepts(self) -> _LessonAnswer:
        names = [concept.name.casefold() for concept in self.concepts]
        if len(set(names)) != len(names):
            raise ValueError("two concepts have the same name")
        for index, question in enumerate(self.questions):
            if question.concept.casefold() not in names:
                raise ValueError(
                    f"question {index} is about {question.concept!r}, which is not a concept"
                )
        return self

    def to_draft(self) -> LessonDraft:
        by_name = {concept.name.casefold(): concept.name for concept in self.concepts}
        return LessonDraft(
            summary=self.summary,
            concepts=tuple(
                ConceptDraft(name=c.name, explanation=c.explanation) for c in self.concepts
            ),
            questions=tuple(
                _question_draft(q, by_name[q.concept.casefold()]) for q in self.questions
            ),
        )


def _question_draft(question: _QuestionAnswer, concept: str) -> QuestionDraft:
    if question.type == "mcq":
        return QuestionDraft(
            type="mcq",
            prompt=question.prompt,
            concept=concept,
            choices=tuple(question.choices),
            answer_index=question.answer_index,
        )
    return QuestionDraft(
        type="short",
        prompt=question.prompt,
        concept=concept,
        reference_answer=question.reference_answer,
    )


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


LESSON_SCHEMA: dict[str, Any] = {
    "title": "lesson",
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "concepts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "explanation": {"type": "string"}},
                "required": ["name", "explanation"],
                "additionalProperties": False,
            },
        },
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["mcq", "short"]},
                    "prompt": {"type": "string"},
                    "concept": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": "string"}},
                    "answer_index": _nullable("integer"),
                    "reference_answer": _nullable("string"),
                },
                "required": [
                    "type",
                    "prompt",
                    "concept",
                    "choices",
                    "answer_index",
                    "reference_answer",
                ],
                "additionalProperties": False,
            },
        },
    },
    "required": ["summary", "concepts", "questions"],
    "additionalProperties": False,
}
"""The lesson's JSON schema (strict-mode compatible: every property required)."""

LESSON_SYSTEM = (
    "You are a careful teacher who writes short study lessons from course material. "
    "Use only facts stated in the material. Answer with a single JSON object that "
    "follows the given schema, and nothing else."
)


def lesson_prompt(section: SectionInput) -> str:
    """The instructions and the section's text (cut to `MAX_SECTION_CHARS`)."""
    text = section.text.strip()
    if len(text) > MAX_SECTION_CHARS:
        text = text[:MAX_SECTION_CHARS] + " […]"
    source = f"Document: {section.document_title}\n" if section.document_title else ""
    return (
        "Write a lesson for this section of a course document.\n"
        "- summary: 3-5 sentences.\n"
        "- concepts: the 5-8 key concepts of the section (fewer if it is short); each with "
        "a 1-3 sentence explanation based on the text.\n"
        "- questions: 3-5 multiple-choice questions (type 'mcq': exactly 4 different "
        "choices, one correct, answer_index is its 0-based position; the wrong choices are "
        "other real terms of the subject; reference_answer null) and 1-3 short free-text "
        "questions (type 'short': choices [], answer_index null, reference_answer a model "
        "answer of 1-2 sentences).\n"
        "- Every question's 'concept' is exactly the name of one of the concepts.\n\n"
        f"{source}Section: {section.title}\n\n<section>\n{text}\n</section>"
    )


class LLMLessonEngine(LessonEngine):
    """Writes lessons with a language model; invalid answers are asked for again."""

    def __init__(self, client: LLMClient, *, max_attempts: int = 3, backoff_s: float = 0.5):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = f"{client.name}"
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    async def generate(self, section: SectionInput) -> LessonDraft:
        request = _Request(
            what="lesson", system=LESSON_SYSTEM, prompt=lesson_prompt(section), schema=LESSON_SCHEMA
        )
        answer = await _ask(
            self._client,
            request,
            _LessonAnswer,
            max_attempts=self._max_attempts,
            backoff_s=self._backoff_s,
        )
        return answer.to_draft()


# --- Grading ---------------------------------------------------------------------------


class _GradeAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    verdict: Literal["correct", "unsure", "incorrect"]
    score: float = Field(ge=0.0, le=1.0)
    feedback: str = Field(min_length=1)


GRADE_SCHEMA: dict[str, Any] = {
    "title": "grade",
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["correct", "unsure", "incorrect"]},
        "score": {"type": "number"},
        "feedback": {"type": "string"},
    },
    "required": ["verdict", "score", "feedback"],
    "additionalProperties": False,
}
"""The grade's JSON schema."""

GRADE_SYSTEM = (
    "You grade a student's short answer against a reference answer. Judge the meaning, not "
    "the wording. Answer with a single JSON object that follows the given schema."
)


def grade_prompt(*, question: str, reference: str, answer: str) -> str:
    return (
        "verdict: 'correct' if the answer states the key idea of the reference, 'incorrect' "
        "if it is wrong or off-topic, 'unsure' if it is partly right or too vague to tell.\n"
        "score: from 0 (nothing right) to 1 (fully right).\n"
        "feedback: one or two sentences to the student: what is right, what is missing.\n\n"
        f"<question>\n{question}\n</question>\n"
        f"<reference>\n{reference}\n</reference>\n"
        f"<answer>\n{answer}\n</answer>"
    )


class LLMGrader:
    """Grades free-text answers with a language model."""

    def __init__(self, client: LLMClient, *, max_attempts: int = 3, backoff_s: float = 0.5):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = f"{client.name}"
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        if not answer.strip():
            return FreeTextGrade(verdict="incorrect", score=0.0, feedback="No answer was given.")
        request = _Request(
            what="grade",
            system=GRADE_SYSTEM,
            prompt=grade_prompt(question=question, reference=reference, answer=answer),
            schema=GRADE_SCHEMA,
        )
        result = await _ask(
            self._client,
            request,
            _GradeAnswer,
            max_attempts=self._max_attempts,
            backoff_s=self._backoff_s,
        )
        return FreeTextGrade(verdict=result.verdict, score=result.score, feedback=result.feedback)


# --- Pages without a text layer --------------------------------------------------------

PAGE_SYSTEM = (
    "You transcribe scanned pages of course material. Return the page's text exactly as "
    "written, in reading order, without commentary. Return an empty string for a page "
    "with no text."
)
PAGE_SCHEMA: dict[str, Any] = {
    "title": "page_text",
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


class _PageText(BaseModel):
    text: str


class LLMPageReader:
    """Reads the text of a page image with a vision-capable language model."""

    def __init__(self, client: LLMClient, *, max_attempts: int = 3, backoff_s: float = 0.5):
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    async def read(self, png: bytes) -> str:
        request = _Request(
            what="page transcription", system=PAGE_SYSTEM, prompt="Transcribe this page.",
            schema=PAGE_SCHEMA, images=(png,),
        )  # fmt: skip
        result = await _ask(self._client, request, _PageText, max_attempts=self._max_attempts,
                            backoff_s=self._backoff_s)  # fmt: skip
        return result.text.strip()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
