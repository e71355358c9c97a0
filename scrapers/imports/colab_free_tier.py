"""`colab-free-tier-records`: which GPU Google Colab's free tier handed out, from dated
recordings in public issue threads (`examples/colab_free_tier/records.csv`).

Google never published the free tier's GPU; users pasted it (`nvidia-smi`, a framework's
device log, or "I got a K80") in issue threads. The records file holds one row per such
recording: the comment's date, the GPU model and its name as written, memory if shown, the
thread URL and the few words that show the runtime was a free one (`free_tier_basis`
"stated"), or "pre-pro": before Colab Pro launched (February 2020) every Colab runtime was
a free one. Facts only: no thread text beyond those words is kept.

The free tier handed out several GPU types at once for years (K80, T4, P100 in 2019), and
the recordings are sparse (a few dozen over eight years), so no single recording says what
"the" free GPU was. The model: one window per calendar year (a quarter would hold one
recording or none, so any single post would decide it). A window states a GPU only when at
least MIN_AGREEING of its recordings name the same model and no other model is named as
often; its snapshot's offer carries that model, with every model's count in `extra`. A
window without such a majority yields no snapshot (`split` says why): the offer keeps its
last stated GPU, and a single odd recording can never move it. The snapshot is observed at
the end of the day of the window's last recording (the day the verdict became knowable).

Output: provider `colab_free_tier`, one offer, instance_type "free", region "global",
pricing_model "free", price 0 per hour, one GPU: the same offer the live `colab` probe
(COLAB_FREE_TIER_PROBE_URL) reports. It is imported into its own provider id like every
catalog (scrapers/imports/__init__.py): a window holds only the free offer, so merged into
`colab` each window would withdraw the paid plans, and every probe-less `colab` run would
withdraw the free tier.

`split` cuts the records file into its windows (file mode of `scrape import`); `parse`
reads one window and fails loudly on a body that mixes windows or has no majority.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from scrapers import _toolkit as tk
from scrapers import colab
from scrapers.base import ParseError, ParseResult, Response
from scrapers.imports import ImportFormat, Part, import_spec

NAME = "colab_free_tier"
FORMAT = "colab-free-tier-records"
RECORDS_PATH = "examples/colab_free_tier/records.csv"
SOURCE = f"https://github.com/gpu-prices/gpu-prices/blob/main/{RECORDS_PATH}"
COLUMNS = (
    "observed_on",
    "gpu_model",
    "gpu_as_written",
    "gpu_memory_mib",
    "evidence",
    "free_tier_basis",
    "free_tier_words",
    "thread_url",
)
# Colab Pro launched in February 2020: a recording from before that month cannot come from a
# paid runtime. Later recordings count only when their thread says they are free ("stated").
PRO_LAUNCHED = date(2020, 2, 1)
BASES = ("pre-pro", "stated")
# Recordings that must name the same GPU model before a window states it: one post is one
# user's draw from a pool of several GPU types, not what the tier handed out.
MIN_AGREEING = 2
END_OF_DAY = time(23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    observed_on: date
    gpu_model: str
    memory_mib: int | None
    row: dict[str, str]


@dataclass(frozen=True)
class Verdict:
    gpu_model: str
    counts: dict[str, int]  # every model named in the window -> recordings


def _header_error(fields: Sequence[str] | None, url: str) -> ParseError:
    return ParseError(NAME, url, f"header {list(fields or [])!r}, expected {COLUMNS}", "header")


def read_records(body: bytes, url: str) -> tuple[list[Record], list[tuple[str, str, str]]]:
    """The usable records and the bad rows as (row, reason, field)."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig", errors="replace")))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise _header_error(reader.fieldnames, url)
    good: list[Record] = []
    bad: list[tuple[str, str, str]] = []
    for n, row in enumerate(reader, 2):
        label = f"line {n}"
        try:
            day = date.fromisoformat((row["observed_on"] or "").strip())
        except ValueError:
            bad.append((label, f"date {row['observed_on']!r}", "observed_on"))
            continue
        model = (row["gpu_model"] or "").strip()
        basis = (row["free_tier_basis"] or "").strip()
        mib = (row["gpu_memory_mib"] or "").strip()
        if not model:
            bad.append((label, "no GPU model", "gpu_model"))
        elif not (row["thread_url"] or "").startswith("https://"):
            bad.append((label, "no thread URL", "thread_url"))
        elif basis not in BASES:
            bad.append((label, f"free_tier_basis {basis!r}, expected one of {BASES}", "basis"))
        elif basis == "pre-pro" and day >= PRO_LAUNCHED:
            # After Colab Pro launched a recording is free only if its thread says so.
            bad.append((label, f"'pre-pro' but dated {day}", "free_tier_basis"))
        elif mib and not mib.isdigit():
            bad.append((label, f"memory {mib!r}", "gpu_memory_mib"))
        else:
            good.append(Record(day, model, int(mib) if mib else None, row))
    return good, bad


def verdict(records: Sequence[Record]) -> Verdict | None:
    """The GPU a window states: named by at least MIN_AGREEING recordings and by more
    recordings than any other model; None when the window has no such majority."""
    counts = Counter(r.gpu_model for r in records)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked or ranked[0][1] < MIN_AGREEING:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return Verdict(ranked[0][0], dict(ranked))


def window_of(record: Record) -> str:
    return str(record.observed_on.year)


def _describe(counts: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{m} x{n}" for m, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _csv(records: Sequence[Record]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in sorted(records, key=lambda r: (r.observed_on, r.gpu_model, r.row["thread_url"])):
        w.writerow({c: r.row[c] for c in COLUMNS})
    return out.getvalue().encode()


def split(body: bytes) -> list[Part]:
    """One part per calendar year of the records file, oldest first: a window with a
    majority becomes a snapshot (its records, observed at the end of its last record's
    day); one without, or a bad row, is a part with `skipped` saying why."""
    good, bad = read_records(body, RECORDS_PATH)
    parts = [
        Part(label, None, b"", f"skipped: {reason} (field {fld})") for label, reason, fld in bad
    ]
    windows: dict[str, list[Record]] = {}
    for r in good:
        windows.setdefault(window_of(r), []).append(r)
    for label, recs in sorted(windows.items()):
        v = verdict(recs)
        if v is None:
            parts.append(
                Part(
                    label,
                    None,
                    b"",
                    f"{len(recs)} recording(s) ({_describe(Counter(r.gpu_model for r in recs))}):"
                    f" no model named by {MIN_AGREEING}+ and more often than any other",
                )
            )
            continue
        last = max(r.observed_on for r in recs)
        parts.append(Part(label, datetime.combine(last, END_OF_DAY), _csv(recs)))
    return parts


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        good, bad = read_records(resp.read(), resp.url)
        rows.found(len(good) + len(bad))
        for label, reason, fld in bad:
            rows.skip(resp.url, label, reason, field=fld)
        if not good:
            continue
        windows = sorted({window_of(r) for r in good})
        if len(windows) > 1:
            raise ParseError(
                NAME,
                resp.url,
                f"records of {len(windows)} windows ({', '.join(windows)}) in one body: import "
                f"the records file with `scrape import {FORMAT} FILE`, which splits it",
                field="observed_on",
            )
        v = verdict(good)
        if v is None:
            raise ParseError(
                NAME,
                resp.url,
                f"window {windows[0]}: no GPU model named by {MIN_AGREEING}+ recordings and "
                f"more often than any other ({_describe(Counter(r.gpu_model for r in good))})",
                field="gpu_model",
            )
        agreeing = [r for r in good if r.gpu_model == v.gpu_model]
        result.offers.append(
            colab.free_tier_offer(
                resp,
                gpu_name_raw=v.gpu_model,
                extra={
                    "window": windows[0],
                    "recordings": len(good),
                    "gpu_counts": v.counts,
                    "first_recorded_on": min(r.observed_on for r in good).isoformat(),
                    "last_recorded_on": max(r.observed_on for r in good).isoformat(),
                    "gpu_memory_mib_seen": sorted({r.memory_mib for r in agreeing if r.memory_mib}),
                    "threads": sorted({r.row["thread_url"] for r in good}),
                    "method": (
                        f"calendar-year window; the GPU named by {MIN_AGREEING}+ recordings "
                        "and more often than any other"
                    ),
                    "source": SOURCE,
                },
            )
        )
    rows.require_offers(
        responses,
        default_field="observed_on",
        none_found="no recording",
        all_failed="no usable recording",
    )
    return result


PROVIDER = import_spec(
    NAME,
    title="Google Colab free tier GPU (dated recordings in public issue threads, imported)",
    source_url=SOURCE,
    pricing_models=("free",),
    validated_against=f"recorded response: {RECORDS_PATH} (recordings 2018-04-19 to 2025-05-30)",
    parse=parse,
    notes=(
        "Which GPU the free tier handed out per calendar year, by majority of dated "
        "recordings in public issue threads; no price (free)."
    ),
    pricing_page_url="https://research.google.com/colaboratory/faq.html",
    import_format=FORMAT,
)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=parse,
    providers=(NAME,),
    source=SOURCE,
    license="facts from public issue threads, each cited in records.csv",
    description="Colab free-tier GPU per year, by majority of dated recordings",
    split=split,
)
