"""Stand-ins for outside services that cannot run in the tests (a paid LLM)."""
