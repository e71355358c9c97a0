"""One error hierarchy: every failure the project expects derives from `GpuPricesError`.

    GpuPricesError                    (scrapers/errors.py: importable by providers)
    ├── ProviderError                 a source failed as a whole (scrapers/base.py)
    │   ├── ParseError                the response has an unknown layout
    │   └── FetchError                a request failed after retries (scrapers/http.py)
    ├── FxError                       no usable exchange rate (scrapers/ecb.py)
    ├── SettingsError                 gpu-prices.toml / environment: unknown key, bad value
    │   └── ScheduleError             schedules/schedule.toml or a provider's cadence
    ├── AlertsError                   bad address, unknown provider/GPU in a subscription
    ├── SpecTableError                the GPU spec CSV is malformed (pipelines/derive/specs.py)
    ├── KindTableError                accelerator_kinds.csv is malformed (pipelines/ingest/kinds.py)
    └── AlreadyRunning                another process holds a provider's lock (store/locks.py)

The message of each is one line that names the input (file, key, provider, address); the
CLI prints it as is and exits non-zero (pipelines/cli/main.py). The root lives in
`scrapers/errors.py` so that provider modules need not import `pipelines/`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scrapers.errors import GpuPricesError

__all__ = ["AlertsError", "GpuPricesError", "ScheduleError", "SettingsError", "did_you_mean"]

# Exit codes of the CLI: 2 for bad input or settings (like a usage error), 1 otherwise.
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def exit_code(exc: BaseException) -> int:
    return getattr(exc, "exit_code", EXIT_FAILED)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the closest choice, or "" when none is close."""
    choices = [str(c) for c in choices]
    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(str(word).casefold(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean '{folded[close[0]]}'?)" if close else ""


class SettingsError(GpuPricesError, ValueError):
    """A setting is unknown or has a bad value (the message names the file or variable and
    the key)."""

    exit_code = EXIT_BAD_INPUT


class ScheduleError(SettingsError):
    """The schedule file or a provider's default cadence is invalid."""


class AlertsError(GpuPricesError, ValueError):
    """A user error in an alerts command (bad address, unknown provider, unknown subscriber)."""

    exit_code = EXIT_BAD_INPUT
