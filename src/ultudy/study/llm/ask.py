"""Asking a language model until its answer validates against a pydantic model.

An invalid answer is asked for again, with a short backoff and the reason in the prompt,
up to `max_attempts` times; then `LLMError` (or `LLMUnavailableError` when the service
never answered).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ultudy.errors import LLMError, LLMUnavailableError
from ultudy.study.llm.client import LLMClient, LLMRetryableError

logger = logging.getLogger(__name__)
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
class Request:
    what: str
    system: str
    prompt: str
    schema: dict[str, Any]
    images: tuple[bytes, ...] = ()


async def ask(
    client: LLMClient,
    request: Request,
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


class Asking:
    """What the model-backed lesson engine, grader and page reader share: a client, asked
    up to `max_attempts` times with a backoff starting at `backoff_s`."""

    def __init__(self, client: LLMClient, *, max_attempts: int = 3, backoff_s: float = 0.5):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = f"{client.name}"
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    async def _ask(self, request: Request, model: type[ModelT]) -> ModelT:
        return await ask(
            self._client, request, model, max_attempts=self._max_attempts, backoff_s=self._backoff_s
        )
