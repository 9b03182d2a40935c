"""The registry: one processor per job type."""

from __future__ import annotations

import importlib

from ultudy.errors import ConfigError
from ultudy.jobs.context import Registry


def load_registry(path: str) -> Registry:
    """Load `module:ATTRIBUTE` (the `ULTUDY_PROCESSORS` setting)."""
    module_name, _, attribute = path.partition(":")
    try:
        registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"ULTUDY_PROCESSORS={path!r} cannot be loaded: {exc}") from exc
    return dict(registry)


def __getattr__(name: str) -> Registry:
    # Imported lazily so that loading the package does not pull in the PDF and NLP stack.
    if name == "REGISTRY":
        registry: Registry = importlib.import_module("ultudy.jobs.processors.registry").REGISTRY
        return registry
    raise AttributeError(name)
