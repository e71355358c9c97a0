"""The GPU price index: a daily, reproducible list-price index per GPU variant.

Source: the price history (one row per price version of an offer, `valid_from`/`valid_to`,
`last_seen_at`). Outputs (pipelines/tables.py):
- datasets/gpu_price_index.parquet: one row per (date, index id, pricing model) with a value;
- datasets/gpu_price_index_inputs.parquet: every offer of an indexed GPU model in force at
  the end of each computed day, included or excluded with a reason.

`compute` is pure (history frame in, frames out); `publish` appends the days not yet
published. The methodology is `METHODOLOGIES[version]`; the README section "GPU price index"
is generated from it (`methodology_markdown`). Facts on other indexes' methodologies that
shaped it (separate form factors and pricing models, trimmed means, staleness limits,
exclusion reasons, content hashes): /work/shared/FIELD-NOTES.md section 11 (computepulse.net
methodology v1.0, gpuprice.fyi methodology v0.3, sorsoview's exact hardware definitions).

Why a version counts at the end of day D although it was not observed at that instant: the
history stores the first (`valid_from`) and last (`last_seen_at`) confirmation of a price
version, not each one between. A version confirmed at or before 24:00 and again after it
held across midnight as far as any observation shows; one whose last confirmation is older
than the staleness limit is excluded (`stale`).

Why days, once published, are never rewritten: a later observation can still change what the
history says about a past day (a provider not scraped for weeks comes back with the same
price, so its old version is confirmed again). Each row records `computed_through`, the
latest observation in the history when it was computed; `scrape index recompute` replays the
archive up to that time and must find the same value and input hash.

Modules, each importing only those before it: `methodology` (the rules as data and the
document), `eligibility` (candidates, exclusion reasons, day expansion), `statistic`
(provider minima, trimmed mean, hashes, composites), `compute`, `publish`, `moves` (the
index's daily moves as change events).
"""

from pipelines.derive.index.compute import compute
from pipelines.derive.index.eligibility import (
    DAY,
    INDEXED_PRICING_MODELS,
    READ_COLUMNS,
    computed_through,
)
from pipelines.derive.index.methodology import (
    CURRENT,
    CURRENT_VERSION,
    METHODOLOGIES,
    Composite,
    IndexDef,
    Methodology,
    index_ids,
    methodology_markdown,
)
from pipelines.derive.index.moves import index_moves
from pipelines.derive.index.publish import INDEX_FILE, INPUTS_FILE, publish
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS

__all__ = [
    "CURRENT",
    "CURRENT_VERSION",
    "DAY",
    "INDEXED_PRICING_MODELS",
    "INDEX_FILE",
    "INPUTS_FILE",
    "METHODOLOGIES",
    "PRICE_INDEX",
    "PRICE_INDEX_INPUTS",
    "READ_COLUMNS",
    "Composite",
    "IndexDef",
    "Methodology",
    "compute",
    "computed_through",
    "index_ids",
    "index_moves",
    "methodology_markdown",
    "publish",
]
