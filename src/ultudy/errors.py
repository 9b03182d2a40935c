"""One exception root for the whole package.

Expected failures carry a user-facing message (the docstring is the default); the job
framework fails such a job at once, without retries. Anything else is unexpected: it is
logged with its stack trace and retried.
"""

from __future__ import annotations


class UltudyError(Exception):
    """Something went wrong."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class JobInputError(UltudyError):
    """The job's input is not valid."""


class NotFoundError(UltudyError):
    """Not found."""


class PdfError(JobInputError):
    """The PDF could not be read."""


class TransientError(UltudyError):
    """A service this job needs did not answer; the job will be tried again later.

    Unlike other expected failures it is retried (with backoff); its message, unlike an
    unexpected error's, is shown to the user."""


class LLMError(UltudyError):
    """The language model did not give a usable answer."""


class LLMUnavailableError(TransientError, LLMError):
    """The language model could not be reached."""


class JobCancelledError(UltudyError):
    """The job was cancelled."""


class ConfigError(UltudyError, ValueError):
    """The configuration cannot work; the command says what to change and exits (code 2)."""


class PdfLimitError(PdfError):
    """The PDF is too large or too complex to read."""
