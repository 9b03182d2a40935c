"""Reading pages without a text layer with a vision-capable language model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.study.llm.ask import Asking, Request

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


class LLMPageReader(Asking):
    """Reads the text of a page image with a vision-capable language model."""

    async def read(self, png: bytes) -> str:
        request = Request(
            what="page transcription",
            system=PAGE_SYSTEM,
            prompt="Transcribe this page.",
            schema=PAGE_SCHEMA,
            images=(png,),
        )
        result = await self._ask(request, _PageText)
        return result.text.strip()
