"""Language models behind one small interface, and the lesson engine and grader that use them.

`client` holds the interface (`LLMClient.complete_json`: system text, prompt and JSON
schema in, the model's JSON answer out) and the HTTP call; `providers` the OpenAI-compatible
and Gemini clients; `ask` the validate-and-ask-again loop. `LLMLessonEngine`, `LLMGrader`
and `LLMPageReader` are the language-model counterparts of the offline lesson engine, the
offline grader and a PDF's text layer; they validate each answer with pydantic and ask
again (with a short backoff, and the reason in the prompt) up to `max_attempts` times,
then raise `LLMError`.
"""

from ultudy.study.llm.client import LLMClient, LLMRetryableError, parse_json_object
from ultudy.study.llm.grader import GRADE_SCHEMA, LLMGrader, grade_prompt
from ultudy.study.llm.lesson_engine import LESSON_SCHEMA, LLMLessonEngine, lesson_prompt
from ultudy.study.llm.page_reader import LLMPageReader
from ultudy.study.llm.providers import (
    GEMINI_BASE_URL,
    OPENAI_BASE_URL,
    GeminiClient,
    OpenAICompatibleClient,
    make_llm_client,
    to_gemini_schema,
)

__all__ = [
    "GEMINI_BASE_URL",
    "GRADE_SCHEMA",
    "LESSON_SCHEMA",
    "OPENAI_BASE_URL",
    "GeminiClient",
    "LLMClient",
    "LLMGrader",
    "LLMLessonEngine",
    "LLMPageReader",
    "LLMRetryableError",
    "OpenAICompatibleClient",
    "grade_prompt",
    "lesson_prompt",
    "make_llm_client",
    "parse_json_object",
    "to_gemini_schema",
]
