"""The job framework: states, store, queues, runner, worker, writer, events, reconciler.

It runs whatever job kinds the application registers (`ultudy.jobs.types`) and imports
nothing of the application (`ultudy.study`, `ultudy.api`...; see the import contracts in
pyproject.toml)."""
