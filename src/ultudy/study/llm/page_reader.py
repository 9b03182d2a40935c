"""Reading pages without a text layer with a vision-capable language model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.study.llm.ask import Request, ask
from ultudy.study.llm.client import LLMClient

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
        request = Request(
            what="page transcription", system=PAGE_SYSTEM, prompt="Transcribe this page.",
            schema=PAGE_SCHEMA, images=(png,),
        )  # fmt: skip
        result = await ask(self._client, request, _PageText, max_attempts=self._max_attempts,
                            backoff_s=self._backoff_s)  # fmt: skip
        return result.text.strip()
