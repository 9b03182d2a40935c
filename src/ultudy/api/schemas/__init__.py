"""The API's request-independent models, one module per resource: what each route answers."""

from ultudy.api.schemas.errors import ErrorOut
from ultudy.api.schemas.jobs import JobAccepted, JobList, JobOut

__all__ = ["ErrorOut", "JobAccepted", "JobList", "JobOut"]
