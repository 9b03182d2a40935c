"""The LLM clients, lesson engine and grader against a local server that speaks both APIs.

A paid model cannot run here, so `tests.fakes.llm_server` answers over real HTTP in the
shape of OpenAI's chat completions and Gemini's generateContent, with scripted answers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.llm_server import FakeLLMServer, Reply, running
from ultudy.errors import LLMError
from ultudy.study.grading import FreeTextGrade
from ultudy.study.lessons import LessonDraft, SectionInput
from ultudy.study.llm import (
    GRADE_SCHEMA,
    LESSON_SCHEMA,
    GeminiClient,
    LLMClient,
    LLMGrader,
    LLMLessonEngine,
    OpenAICompatibleClient,
    make_llm_client,
    to_gemini_schema,
)

KEY = "test-key-123"

SECTION = SectionInput(
    title="Types of connections",
    document_title="R Data Import/Export",
    text=(
        "The most familiar type of connection will be a file, and file connections are "
        "created by function file.\nPipes are a special form of file that connects to "
        "another process, and pipe connections are created by the function pipe.\n"
        "Text connections are another source of input."
    ),
)

VALID_LESSON: dict[str, Any] = {
    "summary": "R reads and writes data through connections: files, pipes, text and sockets.",
    "concepts": [
        {"name": "file connection", "explanation": "A connection to a file, made by file()."},
        {"name": "pipe", "explanation": "A special file that connects to another process."},
        {"name": "text connection", "explanation": "Reads a character vector like a file."},
        {"name": "socket", "explanation": "A connection to a network socket."},
    ],
    "questions": [
        {
            "type": "mcq",
            "prompt": "Which connection runs an OS command and connects to its input?",
            "concept": "pipe",
            "choices": ["file connection", "pipe", "text connection", "socket"],
            "answer_index": 1,
            "reference_answer": None,
        },
        {
            "type": "short",
            "prompt": "What is a text connection?",
            "concept": "Text connection",
            "choices": [],
            "answer_index": None,
            "reference_answer": "A connection that reads an R character vector as if it were a file.",
        },
    ],
}


def lesson_with(**changes: Any) -> dict[str, Any]:
    lesson = copy.deepcopy(VALID_LESSON)
    lesson.update(changes)
    return lesson


THREE_CHOICES = lesson_with(
    questions=[{**VALID_LESSON["questions"][0], "choices": ["pipe", "socket", "file connection"]}]
)
UNKNOWN_CONCEPT = lesson_with(questions=[{**VALID_LESSON["questions"][0], "concept": "stdin"}])


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with running(api_key=KEY) as fake:
        yield fake


def openai_client(server: FakeLLMServer, **options: Any) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        base_url=f"{server.url}/v1", api_key=KEY, model="gpt-test", timeout_s=5.0, **options
    )


def gemini_client(server: FakeLLMServer, **options: Any) -> GeminiClient:
    return GeminiClient(
        api_key=KEY, model="gemini-test", base_url=f"{server.url}/v1beta", timeout_s=5.0, **options
    )


CLIENTS: dict[str, Callable[..., LLMClient]] = {"openai": openai_client, "gemini": gemini_client}


@pytest.fixture(params=sorted(CLIENTS))
def make_client(request: pytest.FixtureRequest) -> Callable[..., LLMClient]:
    return CLIENTS[request.param]


def engine(client: LLMClient, **options: Any) -> LLMLessonEngine:
    return LLMLessonEngine(client, backoff_s=0.0, **options)


def prompt_of(server: FakeLLMServer, index: int) -> str:
    body = server.requests[index].body
    if server.requests[index].api == "openai":
        return str(body["messages"][1]["content"])
    return str(body["contents"][0]["parts"][0]["text"])


# --- Lessons ---------------------------------------------------------------------------


async def test_both_providers_give_a_validated_lesson(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.script(Reply.content(VALID_LESSON))
    lessons = engine(make_client(server))

    draft = await lessons.generate(SECTION)

    assert isinstance(draft, LessonDraft)
    assert lessons.name in {"openai:gpt-test", "gemini:gemini-test"}
    assert draft.summary == VALID_LESSON["summary"]
    assert [c.name for c in draft.concepts] == [
        "file connection",
        "pipe",
        "text connection",
        "socket",
    ]
    mcq, short = draft.questions
    assert mcq.type == "mcq"
    assert mcq.choices == ("file connection", "pipe", "text connection", "socket")
    assert mcq.answer_index == 1
    assert mcq.reference_answer is None
    assert short.type == "short"
    assert short.concept == "text connection"  # the concept's own spelling
    assert short.choices == ()
    assert short.answer_index is None
    assert short.reference_answer
    assert len(server.requests) == 1


async def test_openai_request_shape(server: FakeLLMServer) -> None:
    server.script(Reply.content(VALID_LESSON))

    await engine(openai_client(server)).generate(SECTION)

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert body["model"] == "gpt-test"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "Types of connections" in user
    assert "R Data Import/Export" in user
    assert "Pipes are a special form of file" in user
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "lesson"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema == {k: v for k, v in LESSON_SCHEMA.items() if k != "title"}
    question = schema["properties"]["questions"]["items"]
    assert set(question["required"]) == set(question["properties"])
    assert question["additionalProperties"] is False


async def test_gemini_request_shape(server: FakeLLMServer) -> None:
    server.script(Reply.content(VALID_LESSON))

    await engine(gemini_client(server)).generate(SECTION)

    (request,) = server.requests
    assert request.path == "/v1beta/models/gemini-test:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert "key=" not in request.path
    body = request.body
    assert "teacher" in body["systemInstruction"]["parts"][0]["text"]
    assert body["contents"][0]["role"] == "user"
    assert (
        "Text connections are another source of input." in body["contents"][0]["parts"][0]["text"]
    )
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT"
    assert schema["propertyOrdering"] == ["summary", "concepts", "questions"]
    question = schema["properties"]["questions"]["items"]["properties"]
    assert question["answer_index"] == {"type": "INTEGER", "nullable": True}
    assert question["type"] == {"type": "STRING", "enum": ["mcq", "short"]}
    assert "additionalProperties" not in json.dumps(schema)


async def test_an_answer_that_is_not_json_is_asked_again(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.script(Reply.content('{"summary": "cut off'), Reply.content(VALID_LESSON))

    draft = await engine(make_client(server)).generate(SECTION)

    assert draft.summary == VALID_LESSON["summary"]
    assert len(server.requests) == 2


async def test_an_invalid_lesson_is_asked_again_with_the_reason(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.script(Reply.content(THREE_CHOICES), Reply.content(VALID_LESSON))

    draft = await engine(make_client(server)).generate(SECTION)

    assert len(draft.concepts) == 4
    assert len(server.requests) == 2
    assert "previous answer was invalid" not in prompt_of(server, 0)
    retry = prompt_of(server, 1)
    assert "previous answer was invalid" in retry
    assert "exactly 4 choices" in retry


async def test_a_fenced_json_answer_is_accepted(server: FakeLLMServer) -> None:
    server.script(Reply.content("```json\n" + json.dumps(VALID_LESSON) + "\n```"))

    draft = await engine(openai_client(server)).generate(SECTION)

    assert draft.summary == VALID_LESSON["summary"]


async def test_always_malformed_gives_up_after_max_attempts(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.script(Reply.content("Sure! Here is your lesson: summary ..."))

    with pytest.raises(LLMError) as caught:
        await engine(make_client(server)).generate(SECTION)

    assert caught.value.message.startswith("The language model returned an invalid lesson 3 times:")
    assert "not valid JSON" in caught.value.message
    assert len(server.requests) == 3


async def test_always_invalid_gives_up_with_the_reason(server: FakeLLMServer) -> None:
    server.script(Reply.content(UNKNOWN_CONCEPT))

    with pytest.raises(LLMError) as caught:
        await engine(openai_client(server), max_attempts=2).generate(SECTION)

    message = caught.value.message
    assert message.startswith("The language model returned an invalid lesson 2 times:")
    assert "'stdin', which is not a concept" in message
    assert len(server.requests) == 2


async def test_a_cut_off_answer_is_asked_again(server: FakeLLMServer) -> None:
    server.script(Reply.content(VALID_LESSON, finish="length"), Reply.content(VALID_LESSON))

    await engine(openai_client(server)).generate(SECTION)

    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        Reply.error(500, "internal error"),
        Reply.error(503, "overloaded"),
        Reply.error(429, "rate limited", headers={"retry-after": "0"}),
        Reply.raw(502, "<html>Bad gateway</html>"),
    ],
)
async def test_server_errors_are_retried(
    server: FakeLLMServer, make_client: Callable[..., LLMClient], failure: Reply
) -> None:
    server.script(failure, Reply.content(VALID_LESSON))

    draft = await engine(make_client(server)).generate(SECTION)

    assert draft.summary == VALID_LESSON["summary"]
    assert len(server.requests) == 2


async def test_a_server_that_stays_down_gives_an_llm_error(server: FakeLLMServer) -> None:
    server.script(Reply.error(503, "overloaded"))

    with pytest.raises(LLMError) as caught:
        await engine(gemini_client(server)).generate(SECTION)

    assert "could not be reached" in caught.value.message
    assert "HTTP 503" in caught.value.message
    assert len(server.requests) == 3


async def test_connection_refused_is_retried_then_an_llm_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OpenAICompatibleClient(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=None, model="m", timeout_s=2.0
    )

    with pytest.raises(LLMError) as caught:
        await engine(client).generate(SECTION)

    assert "could not be reached" in caught.value.message
    assert "(3 attempts)" in caught.value.message


async def test_a_timeout_is_retried(server: FakeLLMServer) -> None:
    server.script(Reply.slow(1.0, VALID_LESSON), Reply.content(VALID_LESSON))
    client = OpenAICompatibleClient(
        base_url=f"{server.url}/v1", api_key=KEY, model="gpt-test", timeout_s=0.3
    )

    draft = await engine(client).generate(SECTION)

    assert draft.summary == VALID_LESSON["summary"]
    assert len(server.requests) == 2


async def test_a_wrong_key_fails_at_once(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.api_key = "the-right-key"  # OpenAI answers 401, Gemini 400 API_KEY_INVALID
    server.script(Reply.content(VALID_LESSON))

    with pytest.raises(LLMError) as caught:
        await engine(make_client(server)).generate(SECTION)

    assert "rejected our credentials" in caught.value.message
    assert "ULTUDY_LLM_API_KEY" not in caught.value.message
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply.error(401, f"Incorrect API key provided: {KEY}."), "rejected our credentials"),
        (Reply.error(404, "The model gpt-test does not exist at {url}/v1."), "HTTP 404"),
        (Reply.error(400, "Unsupported parameter for gpt-test, see {url}"), "refused the request"),
        (Reply.error(503, "gpt-test at {url} is overloaded"), "could not be reached"),
    ],
)
async def test_what_a_student_reads_names_no_setting_key_url_or_model(
    server: FakeLLMServer, reply: Reply, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An LLM error becomes a job's error message, shown to students: plain words only;
    the provider's own text, which may quote the key, URL or model, goes to the log."""
    reply = dataclasses.replace(reply, text=reply.text.replace("{url}", server.url))
    server.script(reply)

    with pytest.raises(LLMError) as caught:
        await engine(openai_client(server)).generate(SECTION)

    message = caught.value.message
    assert expected in message
    for secret in ("ULTUDY_", KEY, server.url, "127.0.0.1", "gpt-test", "openai"):
        assert secret not in message
    assert reply.text in caplog.text  # the operator still sees the cause


async def test_an_unknown_url_fails_at_once(server: FakeLLMServer) -> None:
    client = OpenAICompatibleClient(
        base_url=f"{server.url}/v2", api_key=KEY, model="gpt-test", timeout_s=5.0
    )

    with pytest.raises(LLMError) as caught:
        await engine(client).generate(SECTION)

    assert "HTTP 404" in caught.value.message
    assert len(server.requests) == 1


async def test_a_refusal_fails_at_once(server: FakeLLMServer) -> None:
    refusal = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't help."},
                "finish_reason": "stop",
            }
        ]
    }
    server.script(Reply.raw(200, json.dumps(refusal)))

    with pytest.raises(LLMError) as caught:
        await engine(openai_client(server)).generate(SECTION)

    assert "refused" in caught.value.message
    assert len(server.requests) == 1


# --- Grading ---------------------------------------------------------------------------

GRADE_FEEDBACK = "Right: a pipe runs a command."
GRADE: dict[str, Any] = {"verdict": "correct", "score": 0.9, "feedback": GRADE_FEEDBACK}


async def test_grader_returns_a_free_text_grade(
    server: FakeLLMServer, make_client: Callable[..., LLMClient]
) -> None:
    server.script(Reply.content(GRADE))
    grader = LLMGrader(make_client(server), backoff_s=0.0)

    grade = await grader.grade(
        question="What is a pipe connection?",
        reference="Pipes are a special form of file that connects to another process.",
        answer="A file that talks to another program.",
    )

    assert grade == FreeTextGrade(verdict="correct", score=0.9, feedback=GRADE_FEEDBACK)
    prompt = prompt_of(server, 0)
    assert "What is a pipe connection?" in prompt
    assert "connects to another process" in prompt
    assert "talks to another program" in prompt


async def test_grader_sends_the_grade_schema(server: FakeLLMServer) -> None:
    server.script(Reply.content(GRADE))

    await LLMGrader(openai_client(server), backoff_s=0.0).grade(
        question="q", reference="r", answer="a"
    )

    json_schema = server.requests[0].body["response_format"]["json_schema"]
    assert json_schema["name"] == "grade"
    assert json_schema["schema"] == {k: v for k, v in GRADE_SCHEMA.items() if k != "title"}


async def test_grader_asks_again_when_the_grade_is_invalid(server: FakeLLMServer) -> None:
    server.script(
        Reply.content({**GRADE, "score": 1.7}),
        Reply.content({**GRADE, "verdict": "maybe"}),
        Reply.content({**GRADE, "verdict": "unsure", "score": 0.5}),
    )

    grade = await LLMGrader(gemini_client(server), backoff_s=0.0).grade(
        question="q", reference="r", answer="a"
    )

    assert grade.verdict == "unsure"
    assert grade.score == 0.5
    assert len(server.requests) == 3


async def test_grader_gives_up_after_max_attempts(server: FakeLLMServer) -> None:
    server.script(Reply.content({"verdict": "correct"}))

    with pytest.raises(LLMError) as caught:
        await LLMGrader(openai_client(server), backoff_s=0.0).grade(
            question="q", reference="r", answer="a"
        )

    assert caught.value.message.startswith("The language model returned an invalid grade 3 times:")
    assert len(server.requests) == 3


async def test_an_empty_answer_is_graded_without_asking(server: FakeLLMServer) -> None:
    grade = await LLMGrader(openai_client(server)).grade(question="q", reference="r", answer=" ")

    assert grade.verdict == "incorrect"
    assert grade.score == 0.0
    assert server.requests == []


# --- Configuration ---------------------------------------------------------------------


def test_make_llm_client() -> None:
    assert make_llm_client(provider="offline", base_url=None, api_key=None, model=None) is None

    openai = make_llm_client(provider="openai", base_url=None, api_key="k", model="gpt-4o-mini")
    assert isinstance(openai, OpenAICompatibleClient)
    assert openai.name == "openai:gpt-4o-mini"

    local = make_llm_client(
        provider="ollama", base_url="http://localhost:11434/v1", api_key=None, model="llama3.1"
    )
    assert isinstance(local, OpenAICompatibleClient)
    assert local.name == "openai:llama3.1"

    gemini = make_llm_client(provider="Gemini", base_url=None, api_key="k", model="gemini-2.0")
    assert isinstance(gemini, GeminiClient)
    assert gemini.name == "gemini:gemini-2.0"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"provider": "claude", "model": "m"}, "Unknown LLM provider 'claude'"),
        ({"provider": "openai", "model": None}, "needs a model"),
        ({"provider": "openai-compatible", "model": "m"}, "needs a base URL"),
        ({"provider": "gemini", "model": "m"}, "needs an API key"),
    ],
)
def test_make_llm_client_rejects_incomplete_settings(options: dict[str, Any], message: str) -> None:
    settings = {"base_url": None, "api_key": None, **options}
    with pytest.raises(ValueError, match=message):
        make_llm_client(**settings)


def test_engines_reject_zero_attempts(server: FakeLLMServer) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        LLMLessonEngine(openai_client(server), max_attempts=0)


def test_gemini_schema_conversion() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "description": "maybe text"},
            "b": {"type": "array", "items": {"type": "number"}},
        },
        "required": ["a"],
        "additionalProperties": False,
    }

    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "a": {"type": "STRING", "nullable": True, "description": "maybe text"},
            "b": {"type": "ARRAY", "items": {"type": "NUMBER"}},
        },
        "propertyOrdering": ["a", "b"],
        "required": ["a"],
    }
