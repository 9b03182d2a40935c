"""The study app's processors, one per job type, registered into the job framework.

`ULTUDY_PROCESSORS` names what the framework runs: by default `REGISTRY` here, the study
processors by job type name (queues and concurrency come from `ultudy.kinds`). Importing
this package is light; `REGISTRY` loads the processors (and the PDF and NLP stack) on use.
"""

from __future__ import annotations

import importlib

from ultudy.jobs.context import Registry


def __getattr__(name: str) -> Registry:
    if name == "REGISTRY":
        registry: Registry = importlib.import_module("ultudy.processors.registry").REGISTRY
        return registry
    raise AttributeError(name)
