"""What every `scrape` command group shares: expected errors as one line.

A `GpuPricesError` (pipelines/errors.py) reaching a command group is printed as its
message, on one line on stderr, and the command exits with the error's `exit_code` (2 for
bad settings or input, 1 otherwise): no traceback for a typo in gpu-prices.toml or an
unknown provider. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from pipelines.errors import GpuPricesError, exit_code


class OneLineErrors(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GpuPricesError as exc:
            typer.echo(" ".join(str(exc).split()), err=True)
            raise typer.Exit(exit_code(exc)) from None
