"""Ops: run orchestration (fetch -> ingest -> store -> derive -> notify), the scheduler,
the run log and status, the Data Package and generated docs. The top of the stack:
only `pipelines.cli` imports it."""
