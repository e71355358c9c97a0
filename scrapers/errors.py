"""The root of every error this project raises on purpose: `GpuPricesError`.

It lives here, at the bottom of the import graph, so that provider modules (`scrapers/`)
can subclass it without importing `pipelines/`; `pipelines/errors.py` re-exports it with
the rest of the hierarchy. The CLI catches `GpuPricesError` and prints its message as one
line (exit non-zero); anything else reaching the top is a bug and keeps its traceback.
"""

from __future__ import annotations


class GpuPricesError(Exception):
    """An expected failure with a message fit for one line of output (names the input,
    the key or the provider, and what was wrong)."""
