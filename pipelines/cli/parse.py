"""Helpers of `scrape parse PROVIDER FILE...`: saved responses -> normalized rows, printed.

The JSONL output is the format of the expected-output fixtures
(`tests/fixtures/<provider>/<case>.expected.jsonl`), so it is deterministic: columns in the
observation schema's order, rows sorted by offer key (then observation time, source URL,
price), floats as the shortest text that reads back to the same double, timestamps ISO 8601
UTC with a `Z`, dates `YYYY-MM-DD`, missing values `null`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.cli.common import InputError, check_choice, check_providers
from pipelines.schema import OBSERVATION_SCHEMA
from scrapers.base import ProviderSpec, Response

FORMATS = ("table", "json", "jsonl", "csv")

# What `--format table` shows: the columns a person compares; jsonl/json/csv carry them all.
TABLE_COLUMNS = (
    "instance_type",
    "region",
    "pricing_model",
    "term",
    "gpu_count",
    "gpu_model",
    "currency",
    "price_per_hour",
    "price_usd_per_gpu_hour",
)


def provider_spec(name: str) -> ProviderSpec:
    from scrapers.registry import PROVIDERS

    (name,) = check_providers([name])
    return PROVIDERS[name]


def check_format(fmt: str) -> str:
    return check_choice(fmt, FORMATS, "--format")


def check_files(files: Sequence[Path]) -> None:
    for f in files:
        if not f.exists():
            raise InputError(f"no such file: {f}")
        if not f.is_file():
            raise InputError(f"not a file: {f}")


def parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--observed-at {text!r} is not an ISO 8601 time (e.g. 2024-05-28T20:35:22Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def file_responses(
    files: Sequence[Path], observed_at: str | None, urls: Sequence[str]
) -> list[Response]:
    """One Response per file; `urls` is empty (file:// URLs), one URL for all, or one each."""
    if urls and len(urls) not in (1, len(files)):
        raise InputError(
            f"give one --url for all files or one per file ({len(files)}), not {len(urls)}"
        )
    fixed = parse_time(observed_at) if observed_at else None
    out = []
    for i, f in enumerate(files):
        when = fixed or datetime.fromtimestamp(f.stat().st_mtime, UTC)
        url = urls[i if len(urls) > 1 else 0] if urls else f.resolve().as_uri()
        out.append(Response(url=url, fetched_at=when, body_path=f.resolve(), kind=""))
    return out


def fx_from_files(files: Sequence[Path]):
    """The FX lookup from ECB files given on the command line (daily/90-day/history)."""
    from pipelines.ingest.fx import load_fx

    check_files(files)
    responses = [
        Response(
            url=f.resolve().as_uri(),
            fetched_at=datetime.fromtimestamp(f.stat().st_mtime, UTC),
            body_path=f.resolve(),
        )
        for f in files
    ]
    return load_fx(responses).usd_per_unit


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sort_key(row: dict) -> tuple:
    return (
        row["offer_key"],
        row["observed_at"],
        row["source_url"] or "",
        row["price_per_hour"],
    )


def normalized_rows(frame: pd.DataFrame) -> list[dict]:
    """The observation frame as plain, JSON-ready dicts in a stable order (see module doc)."""
    table = pa.Table.from_pandas(frame, schema=OBSERVATION_SCHEMA, preserve_index=False)
    rows = [{k: _plain(v) for k, v in rec.items()} for rec in table.to_pylist()]
    return sorted(rows, key=_sort_key)


def to_jsonl(rows: Sequence[dict]) -> str:
    # json.dumps writes a float as repr(): the shortest text that reads back to the same double.
    return "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows)


def to_json(rows: Sequence[dict]) -> str:
    return json.dumps(list(rows), indent=2, allow_nan=False) + "\n"


def to_csv(rows: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=OBSERVATION_SCHEMA.names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def table_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else repr(value)
    return str(value)
