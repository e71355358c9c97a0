"""What every `scrape` command shares: expected errors as one line, and the input checks.

A `GpuPricesError` (pipelines/errors.py) reaching a command group is printed as its
message, on one line on stderr, and the command exits with the error's `exit_code` (2 for
bad settings or input, 1 otherwise): no traceback for a typo in gpu-prices.toml or an
unknown provider. Anything else is a bug and keeps its traceback.

The checks below are the one copy every command uses: a provider id, a GPU model, a
pricing model, a precision, an output format, a directory that must exist. Each raises
`InputError` naming the option and the value, with a "did you mean" where one is close.
A missing input is an error, never an empty success: run from the wrong directory, a
command would otherwise report an empty dataset as if it were the real one.

Paths: a path given on the command line is taken as the shell gives it (relative to the
working directory); every default (datasets, archive, state, schedule, alerts database)
resolves from the project root (pipelines/config.py: `GPU_PRICES_ROOT`, else the directory
of `GPU_PRICES_CONFIG`, else the nearest directory upwards holding gpu-prices.toml, else
the working directory). Errors about a default path name the root they came from.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from pipelines.config import Config
from pipelines.errors import EXIT_BAD_INPUT, GpuPricesError, did_you_mean, exit_code

# Help text is Markdown: paragraphs reflow to the terminal and "[default: ...]" or
# "[smtp]" stay literal (typer's "rich" mode would read them as markup and drop them).
HELP_MARKUP = "markdown"

DATASETS_HELP = "Datasets directory (default: datasets/ in the project root)."


class InputError(GpuPricesError, ValueError):
    """A bad command-line input (unknown name, missing file or directory): one line, exit 2."""

    exit_code = EXIT_BAD_INPUT


class OneLineErrors(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GpuPricesError as exc:
            typer.echo(" ".join(str(exc).split()), err=True)
            raise typer.Exit(exit_code(exc)) from None


def check_choice(value: str, choices: Sequence[str], option: str) -> str:
    """`value` if it is one of `choices`, else InputError naming `option`."""
    if value in choices:
        return value
    hint = did_you_mean(value, choices)
    raise InputError(f"unknown {option} {value!r}{hint}; one of: {', '.join(choices)}")


def check_providers(names: Iterable[str]) -> list[str]:
    """Provider ids checked against the registry (read at call time: tests register fakes)."""
    from scrapers.registry import PROVIDERS

    out = []
    for name in names:
        if name not in PROVIDERS:
            hint = did_you_mean(name, PROVIDERS)
            raise InputError(
                f"unknown provider {name!r}{hint}; known: {', '.join(sorted(PROVIDERS))}"
            )
        out.append(name)
    return out


def check_gpu(name: str, option: str = "--gpu") -> str:
    """The canonical gpu_model of any spelling the resolver knows ("h100", "RTX_4090")."""
    from pipelines.ingest.gpus import known_models, resolve

    model = resolve(name).gpu_model
    if model is not None:
        return model
    known = known_models()
    hint = did_you_mean(name, known) or " (`scrape gpus list` shows the known models)"
    raise InputError(f"unknown GPU model for {option}: {name!r}{hint}")


def check_gpus(names: Collection[str], option: str = "--gpu") -> list[str]:
    return [check_gpu(n, option) for n in names]


def existing_dir(path: Path, what: str, *, root: Path | None = None) -> Path:
    """`path` if it is a directory; else InputError (naming the project root the default
    came from, when `root` is given)."""
    if path.is_dir():
        return path
    state = "is not a directory" if path.exists() else "does not exist"
    where = f" (project root {root}; set GPU_PRICES_ROOT or run from the project)" if root else ""
    raise InputError(f"{what} {path} {state}{where}")


def published_datasets(config: Any, *, explicit: bool = False) -> Path:
    """The datasets directory of `config`, which must hold something published."""
    from pipelines.store.history import History

    d = Path(config.datasets_dir)
    root = None if explicit else config.root
    existing_dir(d, "datasets directory", root=root)
    if History(d).current_version() is None:
        where = "" if explicit else f" (project root {config.root})"
        raise InputError(
            f"nothing published in {d}{where}: run `scrape run --all` (or "
            "`scrape run --all --replay examples/archive`) first"
        )
    return d


def check_replay_archive(path: Path, names: Sequence[str]) -> list[str]:
    """The providers of `names` that `path` (an archive directory) holds responses for.

    A path that is not a directory, a directory without any manifest (not an archive) and
    an archive with none of the requested providers are errors: a replay that matches
    nothing would otherwise "succeed" having done nothing.
    """
    from pipelines.ingest.archive import MANIFEST, Archive

    existing_dir(path, "--replay archive")
    held = Archive(path).providers()
    if not held:
        raise InputError(
            f"--replay {path}: not an archive (no <provider>/{MANIFEST} in it; "
            "e.g. examples/archive in the project)"
        )
    matched = [n for n in names if n in held]
    if not matched:
        raise InputError(
            f"--replay {path}: no archived responses for {', '.join(names)} "
            f"(it holds: {', '.join(held)})"
        )
    return matched


def clean(value: object) -> object:
    """JSON-safe scalar: NaN/NA -> None, numpy scalars -> Python."""
    import pandas as pd

    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def fmt(value: object, digits: int = 2) -> str:
    value = clean(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if not math.isinf(value) else "inf"
    return str(value)


def config(datasets: Path | None, archive: Path | None) -> Config:
    """The settings with command-line directory overrides, provider names checked."""
    from scrapers.registry import PROVIDERS

    cfg = Config.load().with_datasets(datasets, archive)
    cfg.check_provider_names(PROVIDERS)
    return cfg
