"""Kaggle Notebooks: the free GPU tier (a `free` offer per publicly available accelerator).

Source: Kaggle's own documentation of the accelerators a notebook can run on, the
`kaggle kernels push` section of the Kaggle CLI docs,
`https://raw.githubusercontent.com/Kaggle/kaggle-cli/main/docs/kernels.md` (public, no key).
It carries the list "Accelerators available as of <Month YYYY>:" with one accelerator ID per
bullet (`* NvidiaTeslaT4 (GPU T4)`) and names the default GPU in the `--accelerator` option
("NvidiaTeslaT4" (GPU T4, default GPU)). Kaggle publishes no price API: the tier is free,
with a weekly GPU quota.

Output: one `free` offer (price 0, region "global") per listed accelerator that every user
can pick, instance type = the accelerator ID. What an ID is (GPU, count, memory) and whether
it is public is reference data, `scrapers/data/kaggle_accelerators.csv` (with sources): the
list also names accelerators reserved to competition participants or admins (A100, L4,
H100, RTX PRO 6000), which are not free offers and are left out. TPUs are not GPUs and are
left out. An ID the table does not know is reported in the run summary. The weekly quota
("floating", about 30 GPU-hours, https://www.kaggle.com/product-feedback/173129) goes to
`extra`. When Kaggle drops an accelerator (P100 left the list between Feb and Sep 2026) its
offer disappears from the history like any withdrawn offer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scrapers import _toolkit as tk
from scrapers.base import FetchContext, ParseError, ParseResult, ProviderSpec, Response

NAME = "kaggle"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com/Kaggle/kaggle-cli/main"
DOCS_PATH = "docs/kernels.md"
TABLE = "kaggle_accelerators.csv"  # in scrapers/data/
REGION = "global"  # Kaggle does not let users pick a region
LIST_HEADING_RE = re.compile(r"^Accelerators available as of (?P<asof>[^:]+):\s*$", re.MULTILINE)
BULLET_RE = re.compile(r"^\*\s+(?P<id>[A-Za-z0-9]+)(?:\s+\((?P<label>[^)]*)\))?\s*$")
DEFAULT_GPU_RE = re.compile(r'"(?P<id>[A-Za-z0-9]+)"\s+\((?:aka )?[^)]*default GPU\)')
WEEKLY_QUOTA = (
    "about 30 GPU-hours per week, floating (https://www.kaggle.com/product-feedback/173129)"
)


async def fetch(ctx: FetchContext) -> list[Response]:
    return [await ctx.client.get(ctx.url(DOCS_PATH), provider=NAME, kind="kernels-docs")]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        try:
            text = resp.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(NAME, resp.url, "body is not UTF-8 text", field="body") from None
        heading = LIST_HEADING_RE.search(text)
        if not heading:
            raise ParseError(
                NAME,
                resp.url,
                "no 'Accelerators available as of ...:' list (the docs changed layout)",
                field="accelerators",
            )
        ids = _bullets(text[heading.end() :])
        if not ids:
            raise ParseError(NAME, resp.url, "the accelerator list is empty", field="accelerators")
        default = DEFAULT_GPU_RE.search(text)
        table = tk.table_by(TABLE, "accelerator_id")
        for acc_id, label in ids:
            row = table.get(acc_id)
            if row is None:
                if not acc_id.startswith("Tpu"):
                    result.unknown.append(
                        f"{NAME}: accelerator {acc_id!r} not in {TABLE} ({resp.url})"
                    )
                continue
            if row["public_free_tier"] != "yes":
                continue  # competition/admin only: not an offer to the public
            rows.found()
            result.offers.append(
                tk.offer(
                    resp,
                    instance_type=acc_id,
                    region=REGION,
                    pricing_model="free",
                    currency="USD",
                    price_per_hour=0.0,
                    gpu_count=float(row["gpu_count"]),
                    gpu_name_raw=row["gpu_name_raw"],
                    gpu_memory_gb=float(row["gpu_memory_gb"]),
                    price_unit_published="hour",  # free: 0 per hour, within the weekly quota
                    extra={
                        "label": label,
                        "is_default_gpu": bool(default and default.group("id") == acc_id),
                        "list_as_of": heading.group("asof").strip(),
                        "weekly_quota": WEEKLY_QUOTA,
                    },
                )
            )
    rows.require_offers(
        responses,
        default_field="accelerators",
        none_found="no public free-tier GPU in the accelerator list",
        all_failed="no public free-tier GPU in the accelerator list",
    )
    return result


def _bullets(text: str) -> list[tuple[str, str | None]]:
    """The bullet lines right after the heading (blank lines allowed before the first)."""
    out: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        if not line.strip():
            if out:
                break
            continue
        m = BULLET_RE.match(line.strip())
        if not m:
            break
        out.append((m.group("id"), m.group("label")))
    return out


PROVIDER = ProviderSpec(
    name=NAME,
    title="Kaggle Notebooks (free tier)",
    source_urls=("https://raw.githubusercontent.com/Kaggle/kaggle-cli/main/docs/kernels.md",),
    pricing_models=("free",),
    validated_against=(
        "recorded response: docs/kernels.md of Kaggle/kaggle-cli @ 13dad8ee (Sep 2026) and "
        "@ 35932c26 (Feb 2026), 'kaggle kernels push' section"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="0 5 * * 1",
    pricing_page_url="https://www.kaggle.com/docs/notebooks",
    notes="Free tier: public accelerators from scrapers/data/kaggle_accelerators.csv; quota in extra.",
)
