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
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.tables import INDEX_EXCLUSION_REASONS, PRICE_INDEX, PRICE_INDEX_INPUTS

INDEX_FILE = PRICE_INDEX.file
INPUTS_FILE = PRICE_INDEX_INPUTS.file
INDEXED_PRICING_MODELS = ("on_demand", "spot")
DAY = pd.Timedelta(days=1)
_NS_PER_DAY = 86_400 * 10**9
# Prices are hashed at this precision (pipelines/schema.py PRICE_DECIMALS): a float
# round-trip must not change a content hash.
_HASH_DECIMALS = 9


@dataclass(frozen=True)
class IndexDef:
    """One GPU variant index: which offers are like for like.

    `form_factor` None: the model ships in one form factor only (an L40S is a PCIe card,
    an MI300X an OAM module), so the id does not name one and no offer is guessed into it.
    """

    index_id: str
    gpu_model: str
    form_factor: str | None
    memory_gb: tuple[float, ...]


@dataclass(frozen=True)
class Composite:
    """A stated combination of sub-index values (never a pool of their offers)."""

    index_id: str
    weights: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Methodology:
    version: str
    indexes: tuple[IndexDef, ...]
    composites: tuple[Composite, ...]
    # A price version whose last confirmation is older than this at the end of the day is
    # stale. Git-scraped sources confirm weekly, live runs hourly to daily.
    staleness_limit: timedelta
    # Fraction of providers trimmed from each end before the mean (floor(n * fraction)).
    trim_fraction: float
    # A stale version is listed in the inputs (as `stale`) for this long after its last
    # confirmation, then no longer: a provider that stopped being scraped would otherwise
    # add every one of its offers to every later day.
    list_stale_for: timedelta = timedelta(days=30)
    changes: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


_V1_INDEXES = (
    IndexDef("H100-SXM", "H100", "SXM", (80.0,)),
    IndexDef("H100-PCIe", "H100", "PCIe", (80.0,)),
    IndexDef("A100-SXM-80GB", "A100", "SXM", (80.0,)),
    IndexDef("A100-SXM-40GB", "A100", "SXM", (40.0,)),
    IndexDef("A100-PCIe-80GB", "A100", "PCIe", (80.0,)),
    IndexDef("L40S", "L40S", None, (48.0,)),
    # HGX B200 boards expose 180 GB per GPU; some clouds list the 192 GB of the package.
    IndexDef("B200-SXM", "B200", "SXM", (180.0, 192.0)),
    IndexDef("MI300X", "MI300X", None, (192.0,)),
)

METHODOLOGIES: dict[str, Methodology] = {
    "1.0": Methodology(
        version="1.0",
        indexes=_V1_INDEXES,
        composites=(Composite("H100", (("H100-SXM", 0.5), ("H100-PCIe", 0.5))),),
        staleness_limit=timedelta(days=7),
        trim_fraction=0.2,
        changes="the first version.",
    ),
}
CURRENT_VERSION = "1.0"
CURRENT = METHODOLOGIES[CURRENT_VERSION]

# Columns the computation reads (others are ignored; absent optional ones are tolerated).
_NEEDED = [
    "provider",
    "offer_key",
    "pricing_model",
    "gpu_model",
    "gpu_form_factor",
    "gpu_memory_gb",
    "price_per_hour",
    "price_usd_per_gpu_hour",
    "snapshot_sha256",
    "valid_from",
    "valid_to",
    "last_seen_at",
]
_OPTIONAL = [
    "price_scope",
    "accelerator_kind",
    "spec_match",
    "market_price_median_per_hour",
]
READ_COLUMNS = _NEEDED + _OPTIONAL


def index_ids(methodology: Methodology = CURRENT) -> list[str]:
    return [d.index_id for d in methodology.indexes] + [c.index_id for c in methodology.composites]


def _empty(table) -> pd.DataFrame:
    return table.schema.empty_table().to_pandas()


def _utc(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s, utc=True)
    return s.astype("datetime64[ns, UTC]")


def computed_through(history: pd.DataFrame) -> pd.Timestamp | None:
    """The latest observation in the history (every merge confirms or opens a version)."""
    if history.empty:
        return None
    return _utc(history["last_seen_at"]).max()


def _candidates(history: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """Price versions of indexed GPU models with their day-independent exclusion reason."""
    models = sorted({d.gpu_model for d in m.indexes})
    h = history[history["gpu_model"].astype("object").isin(models)]
    c = pd.DataFrame(
        {
            col: h[col].astype("object")
            if isinstance(h[col].dtype, pd.CategoricalDtype)
            else h[col]
            for col in READ_COLUMNS
            if col in h
        }
    ).reset_index(drop=True)
    for col in _OPTIONAL:
        if col not in c:
            c[col] = None
    # Absent before the scope column existed: every row was a whole-instance price.
    c["price_scope"] = c["price_scope"].fillna("instance")
    c["valid_from"] = _utc(c["valid_from"])
    c["valid_to"] = _utc(c["valid_to"])
    c["last_seen_at"] = _utc(c["last_seen_at"])
    price = pd.to_numeric(c["price_usd_per_gpu_hour"], errors="coerce").astype("float64")
    # Marketplace rows: the minimum is one host's price, often an unverified outlier; the
    # market median is what the marketplace typically charges. Same unit as price_per_hour.
    median = pd.to_numeric(c["market_price_median_per_hour"], errors="coerce")
    per_hour = pd.to_numeric(c["price_per_hour"], errors="coerce")
    market = c["price_scope"].eq("marketplace_min") & median.gt(0) & per_hour.gt(0)
    price = price.where(~market, price * median / per_hour)
    c["price"] = price

    index_of = pd.Series(pd.NA, index=c.index, dtype="object")
    ff = c["gpu_form_factor"].astype("object")
    mem = pd.to_numeric(c["gpu_memory_gb"], errors="coerce")
    variant_known = pd.Series(False, index=c.index)
    for d in m.indexes:
        same = c["gpu_model"].eq(d.gpu_model)
        fits = same & mem.isin(d.memory_gb)
        if d.form_factor is not None:
            fits &= ff.eq(d.form_factor)
        index_of = index_of.mask(fits & index_of.isna(), d.index_id)
        variant_known |= fits
    needs_ff = c["gpu_model"].isin({d.gpu_model for d in m.indexes if d.form_factor})
    kind = c["accelerator_kind"]
    spec = c["spec_match"]
    conditions = [
        ~c["pricing_model"].isin(INDEXED_PRICING_MODELS),
        kind.notna() & kind.ne("gpu"),
        c["price_scope"].eq("gpu_only"),
        c["price_scope"].eq("curated_min"),
        needs_ff & ff.isna(),
        mem.isna(),
        ~variant_known,
        spec.notna() & spec.ne("exact"),
        ~price.gt(0),
    ]
    reasons = [
        "pricing_model_not_indexed",
        "not_gpu",
        "price_scope_gpu_only",
        "price_scope_curated_min",
        "form_factor_unknown",
        "memory_unknown",
        "variant_not_indexed",
        "spec_not_exact",
        "no_usd_price",
    ]
    assert set(reasons) <= set(INDEX_EXCLUSION_REASONS)
    c["reason"] = np.select(conditions, reasons, default=None)
    c["index_id"] = index_of.where(~(needs_ff & ff.isna()), None)
    c["digest"] = _record_digests(c)
    # Integer codes for the statistic's sorts and groups (see _statistic).
    c["okey"], _ = _codes(c["offer_key"])
    c["pkey"], _ = _codes(c["provider"])
    c["dkey"], _ = _codes(c["digest"])
    pair = c["index_id"].fillna("").astype(object) + "|" + c["pricing_model"].astype(object)
    c["gkey"], pairs = _codes(pair)
    split = [v.split("|") for v in pairs]
    c.attrs["gkeys"] = (
        np.array([a for a, _ in split], dtype=object),
        np.array([b for _, b in split], dtype=object),
    )
    # Plain object arrays: the day expansion repeats every row hundreds of times, and
    # numpy takes object pointers far faster than pandas' Arrow-backed strings.
    for col in c.columns:
        if not (
            pd.api.types.is_numeric_dtype(c[col]) or pd.api.types.is_datetime64_any_dtype(c[col])
        ):
            c[col] = c[col].astype(object)
    return c


def _record_digests(c: pd.DataFrame) -> pd.Series:
    """sha256 of each version's identity and price: the unit of the input-set hash."""
    if c.empty:
        # `.map` on an empty column gives float64, and str + float then raises: a run whose
        # history holds no candidate (one provider without indexed GPUs) has no digests.
        return pd.Series([], index=c.index, dtype=object)
    vf = c["valid_from"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    price = c["price"].round(_HASH_DECIMALS).map(lambda x: "" if pd.isna(x) else repr(float(x)))
    text = (
        c["offer_key"].astype(str)
        + "|"
        + vf
        + "|"
        + price
        + "|"
        + c["snapshot_sha256"].fillna("").astype(str)
    )
    return text.map(lambda s: hashlib.sha256(s.encode()).hexdigest())


# The candidate columns the per-day rows need (the others are not repeated per day).
_EXPANDED = [
    "provider",
    "offer_key",
    "pricing_model",
    "gpu_model",
    "index_id",
    "reason",
    "price",
    "digest",
    "okey",
    "pkey",
    "dkey",
    "gkey",
    "valid_from",
    "last_seen_at",
]


def _expand_days(
    c: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, listed_for: timedelta
) -> pd.DataFrame:
    """One row per (version, day D in [first, last]) with the version in force at D's end.

    In force at the end of D (t = D + 1 day): valid_from < t <= valid_to (or no valid_to).
    """
    vf = c["valid_from"].array.asi8
    vt = c["valid_to"]
    vt_ns = np.where(vt.isna(), np.iinfo(np.int64).max, vt.array.asi8)
    first_ns, last_ns = first.value, last.value
    # Smallest D with D + 1 day > valid_from: the day valid_from falls on.
    d0 = np.maximum(vf // _NS_PER_DAY * _NS_PER_DAY, first_ns)
    # Largest D with D + 1 day <= valid_to.
    d1 = np.minimum(
        np.where(vt.isna(), last_ns, vt_ns // _NS_PER_DAY * _NS_PER_DAY - _NS_PER_DAY), last_ns
    )
    listed_until = c["last_seen_at"].array.asi8 + pd.Timedelta(listed_for).value
    d1 = np.minimum(d1, listed_until // _NS_PER_DAY * _NS_PER_DAY)
    n = np.maximum((d1 - d0) // _NS_PER_DAY + 1, 0)
    rows = np.repeat(np.arange(len(c)), n)
    starts = np.repeat(d0, n)
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    day_ns = starts + offsets * _NS_PER_DAY
    out = c[_EXPANDED].iloc[rows].reset_index(drop=True)
    out["day_ns"] = day_ns
    return out


def compute(
    history: pd.DataFrame,
    *,
    methodology: Methodology = CURRENT,
    days: list[date] | None = None,
    through: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The index rows and the inputs rows of `days` (default: every day the history covers).

    A day counts as covered once its end is at or before `through` (default: the latest
    observation in the history): later days could still receive observations.
    """
    empty = (_empty(PRICE_INDEX), _empty(PRICE_INDEX_INPUTS))
    through = through if through is not None else computed_through(history)
    if through is None or history.empty:
        return empty
    c = _candidates(history, methodology)
    if c.empty:
        return empty
    first = c["valid_from"].min().floor("D")
    last = through.floor("D") - DAY  # its end (through's midnight) is at or before `through`
    if days is not None:
        wanted = pd.DatetimeIndex(sorted(set(days))).tz_localize("UTC").as_unit("ns")
        wanted = wanted[(wanted >= first) & (wanted <= last)]
        if wanted.empty:
            return empty
        first, last = wanted.min(), wanted.max()
    if last < first:
        return empty
    x = _expand_days(c, first, last, methodology.list_stale_for)
    x.attrs["gkeys"] = c.attrs["gkeys"]
    if days is not None:
        x = x[x["day_ns"].isin(wanted.asi8)]
    x = x.reset_index(drop=True)
    # Staleness: the last confirmation at or before the day's end must be recent enough.
    end_ns = x["day_ns"].to_numpy() + _NS_PER_DAY
    seen = np.minimum(x["last_seen_at"].array.asi8, end_ns)
    stale = (end_ns - seen) > pd.Timedelta(methodology.staleness_limit).value
    x["reason"] = x["reason"].where(x["reason"].notna() | ~stale, "stale")
    x["is_included"] = x["reason"].isna()
    index = _statistic(x, methodology, through)
    inputs = _inputs_frame(x, methodology)
    return index, inputs


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted integer codes (-1 for null) and the values they stand for."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes, np.asarray(uniques, dtype=object)


def _statistic(x: pd.DataFrame, m: Methodology, through: pd.Timestamp) -> pd.DataFrame:
    """Per (day, index, pricing model): provider minima, trimmed mean, dispersion, hash.

    Works on integer codes and sorted numpy arrays: the expanded frame has one row per
    offer and day (millions after a long backfill) and string sorts dominate otherwise.
    """
    x["statistic_role"] = None
    inc = x["is_included"].to_numpy()
    if not inc.any():
        return _empty(PRICE_INDEX)
    ok = x[inc]
    # Each provider counts once, at its cheapest eligible offer (ties: lowest offer key).
    d, g, p = (ok[c].to_numpy() for c in ("day_ns", "gkey", "pkey"))
    price, o = ok["price"].to_numpy(), ok["okey"].to_numpy()
    order = np.lexsort((o, price, p, g, d))
    d, g, p, price = d[order], g[order], p[order], price[order]
    new_group = np.r_[True, (d[1:] != d[:-1]) | (g[1:] != g[:-1])]
    new_provider = new_group | np.r_[True, p[1:] != p[:-1]]
    offer_gid = np.cumsum(new_group) - 1
    # The provider rows, each group's sorted by price (then provider) for the trimming.
    pp, pprice = p[new_provider], price[new_provider]
    prow = np.flatnonzero(new_provider)  # positions in the sorted included rows
    gid = offer_gid[new_provider]
    porder = np.lexsort((pp, pprice, gid))
    gid, pprice, prow = gid[porder], pprice[porder], prow[porder]
    n_groups = offer_gid[-1] + 1
    n = np.bincount(gid, minlength=n_groups)
    start = np.r_[0, np.cumsum(n)[:-1]]
    rank = np.arange(len(gid)) - start[gid]
    # At least one provider always stays (two providers are never both trimmed).
    k = np.minimum(np.floor(n * m.trim_fraction).astype(int), (n - 1) // 2)
    kept = (rank >= k[gid]) & (rank < (n - k)[gid])
    role = np.full(len(order), "above_provider_min", dtype=object)
    role[prow] = np.where(kept, "provider_price", "trimmed")
    x.loc[ok.index[order], "statistic_role"] = role

    first = np.flatnonzero(new_group)
    by = pd.Series(pprice).groupby(gid)
    q = by.quantile([0.25, 0.5, 0.75]).unstack().to_numpy()
    value = np.bincount(gid[kept], weights=pprice[kept], minlength=n_groups) / np.bincount(
        gid[kept], minlength=n_groups
    )
    index_ids, pricing = x.attrs["gkeys"]
    res = pd.DataFrame(
        {
            "day_ns": d[first],
            "index_id": index_ids[g[first]],
            "pricing_model": pricing[g[first]],
            "value_usd_per_gpu_hour": value,
            "provider_count": n,
            "offer_count": np.bincount(offer_gid, minlength=n_groups),
            "min_usd_per_gpu_hour": by.min().to_numpy(),
            "p25_usd_per_gpu_hour": q[:, 0],
            "median_usd_per_gpu_hour": q[:, 1],
            "p75_usd_per_gpu_hour": q[:, 2],
            "max_usd_per_gpu_hour": by.max().to_numpy(),
            "input_sha256": _set_hashes(ok, order, offer_gid, first),
        }
    )
    res = pd.concat([res, _composites(res, ok, m)], ignore_index=True)
    res["date"] = pd.to_datetime(res["day_ns"], utc=True).dt.date
    res["provider_count"] = res["provider_count"].astype("int32")
    res["offer_count"] = res["offer_count"].astype("int32")
    res["methodology_version"] = m.version
    res["computed_through"] = through.floor("us")
    res = res.sort_values(["date", "index_id", "pricing_model"], kind="stable")
    return res[PRICE_INDEX.columns].reset_index(drop=True)


def _set_hashes(
    ok: pd.DataFrame, order: np.ndarray, gid: np.ndarray, first: np.ndarray
) -> list[str]:
    """Per group: sha256 of its sorted record digests (one pass over a sorted array; a
    pandas per-group aggregation costs more than the hashing itself)."""
    dkey = ok["dkey"].to_numpy()[order]
    by_digest = np.lexsort((dkey, gid))
    digests = ok["digest"].to_numpy(dtype=object)[order][by_digest]
    bounds = np.append(first, len(order))
    return [
        hashlib.sha256("\n".join(digests[a:b]).encode()).hexdigest()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _composites(sub: pd.DataFrame, ok: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """Weighted sums of sub-index values; a day lacking any component has no value."""
    frames = []
    keys = ["day_ns", "pricing_model"]
    for comp in m.composites:
        parts = []
        for index_id, weight in comp.weights:
            p = sub[sub["index_id"].eq(index_id)].set_index(keys)
            parts.append((p, weight))
        common = parts[0][0].index
        for p, _ in parts[1:]:
            common = common.intersection(p.index)
        if common.empty:
            continue
        value = sum(p.loc[common, "value_usd_per_gpu_hour"] * w for p, w in parts)
        # Providers of any component, each counted once.
        members = ok[ok["index_id"].isin([i for i, _ in comp.weights])]
        members = members.drop_duplicates([*keys, "provider"])
        providers = members.groupby(keys, sort=False).size().reindex(common)
        hashes = pd.concat([p.loc[common, "input_sha256"] for p, _ in parts], axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "index_id": comp.index_id,
                    "value_usd_per_gpu_hour": value,
                    "provider_count": providers,
                    "offer_count": sum(p.loc[common, "offer_count"] for p, _ in parts),
                    "input_sha256": [
                        hashlib.sha256("\n".join(row).encode()).hexdigest()
                        for row in hashes.itertuples(index=False)
                    ],
                },
                index=common,
            ).reset_index()
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _none(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(s.notna(), None)


def _inputs_frame(x: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """One row per (day, offer). `date` stays a datetime64 (midnight UTC, naive) here: the
    frame can hold millions of rows, and Arrow writes it as a date32 without a Python date
    object per row."""
    order = np.lexsort((x["okey"].to_numpy(), x["day_ns"].to_numpy()))
    x = x.iloc[order].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "date": x["day_ns"].to_numpy().astype("datetime64[ns]"),
            "index_id": x["index_id"].to_numpy(),
            "pricing_model": x["pricing_model"].to_numpy(),
            "gpu_model": x["gpu_model"].to_numpy(),
            "provider": x["provider"].to_numpy(),
            "offer_key": x["offer_key"].to_numpy(),
            # The published timestamps are in microseconds (pipelines/schema.py TS).
            "valid_from": x["valid_from"].dt.floor("us"),
            "price_usd_per_gpu_hour": x["price"].to_numpy(),
            "last_seen_at": x["last_seen_at"].dt.floor("us"),
            "is_included": x["is_included"].to_numpy(dtype=bool),
            "exclusion_reason": x["reason"].to_numpy(),
            "statistic_role": x["statistic_role"].to_numpy(),
            "methodology_version": m.version,
        }
    )
    for col in ("index_id", "exclusion_reason", "statistic_role"):
        out[col] = _none(out[col])
    return out[PRICE_INDEX_INPUTS.columns]


# --- publishing ----------------------------------------------------------------------


def _read(path: Path, table) -> pd.DataFrame:
    if not path.is_file():
        return _empty(table)
    return pd.read_parquet(path)


def publish(
    history: pd.DataFrame, datasets_dir: Path, *, methodology: Methodology = CURRENT
) -> dict[str, int]:
    """Append the days not yet published (of this methodology version); return new rows.

    Rows of another methodology version are dropped and the whole series recomputed: a new
    methodology is a new series (old versions stay reproducible with `--methodology`).
    The inputs table (millions of rows after years) is appended as Arrow, never re-sorted
    unless a new day falls before a published one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipelines.store.atomic import to_table, write_parquet_atomic

    datasets_dir = Path(datasets_dir)
    old_index = _read(datasets_dir / INDEX_FILE, PRICE_INDEX)
    old_index = old_index[old_index["methodology_version"].eq(methodology.version)]
    inputs_path = datasets_dir / INPUTS_FILE
    schema = PRICE_INDEX_INPUTS.schema
    old_inputs = (
        pq.read_table(inputs_path).select(schema.names).cast(schema)
        if inputs_path.is_file()
        else schema.empty_table()
    )
    old_inputs = old_inputs.filter(pc.equal(old_inputs["methodology_version"], methodology.version))
    done = set(old_index["date"]) | set(pc.unique(old_inputs["date"]).to_pylist())
    through = computed_through(history)
    if through is None:
        return {INDEX_FILE: 0, INPUTS_FILE: 0}
    c_first = _utc(history["valid_from"]).min().floor("D")
    all_days = pd.date_range(c_first, through.floor("D") - DAY, freq="D").date
    todo = [d for d in all_days if d not in done]
    if not todo:
        if (datasets_dir / INDEX_FILE).is_file():
            return {INDEX_FILE: 0, INPUTS_FILE: 0}
        todo = [through.date()]  # not computable yet: writes the (empty) tables once
    # Only versions in force at the end of some day to compute: a run after years of
    # history computes one new day from the live offers, not from every version ever.
    lo, hi = pd.Timestamp(min(todo), tz="UTC"), pd.Timestamp(max(todo), tz="UTC") + DAY
    valid_to = _utc(history["valid_to"])
    window = (_utc(history["valid_from"]) < hi) & (valid_to.isna() | (valid_to >= lo + DAY))
    new_index, new_inputs = compute(
        history[window.to_numpy()], methodology=methodology, days=todo, through=through
    )
    index = pd.concat([x for x in (old_index, new_index) if not x.empty] or [new_index])
    index = index.sort_values(list(PRICE_INDEX.primary_key), kind="stable")
    new_table = to_table(new_inputs, schema)
    inputs = pa.concat_tables([old_inputs, new_table])
    if old_inputs.num_rows and new_table.num_rows:
        if pc.min(new_table["date"]).as_py() < pc.max(old_inputs["date"]).as_py():
            inputs = inputs.sort_by([(k, "ascending") for k in PRICE_INDEX_INPUTS.primary_key])
    meta = {"gpu_price_index.methodology_version": methodology.version}
    write_parquet_atomic(inputs, inputs_path, schema=schema, metadata=meta)
    write_parquet_atomic(index, datasets_dir / INDEX_FILE, schema=PRICE_INDEX.schema, metadata=meta)
    return {INDEX_FILE: len(new_index), INPUTS_FILE: len(new_inputs)}


# --- the methodology document ----------------------------------------------------------


def _variant(d: IndexDef) -> str:
    mem = " or ".join(f"{g:g} GB" for g in d.memory_gb)
    ff = d.form_factor or "any (one form factor exists)"
    return f"| `{d.index_id}` | {d.gpu_model} | {ff} | {mem} |"


def methodology_markdown(m: Methodology = CURRENT) -> str:
    """The README section 'GPU price index' (generated: it cannot drift from the code)."""
    comps = "; ".join(
        f"`{c.index_id}` = " + " + ".join(f"{w:g} x `{i}`" for i, w in c.weights)
        for c in m.composites
    )
    stale_h = m.staleness_limit.total_seconds() / 3600
    lines = [
        f"Methodology version **{m.version}**: {m.changes} Versions that can be recomputed "
        "(`scrape index recompute --methodology V`): "
        + ", ".join(f"`{v}`" for v in METHODOLOGIES)
        + ".",
        "",
        "| index id | GPU model | form factor | memory per GPU |",
        "|---|---|---|---|",
        *[_variant(d) for d in m.indexes],
        "",
        "Each index is computed for on-demand and for spot prices separately "
        f"(`pricing_model`), never mixed. Composite: {comps}; computed from the sub-index "
        "values only on days when every component has one (never by pooling their offers).",
        "",
        "1. **Date**: the prices in force at the end of each UTC day (a version with "
        "`valid_from` < 24:00 <= `valid_to`), backfilled over the whole history.",
        "2. **Eligibility**, in this order, the first failing rule being the offer's "
        "`exclusion_reason`: pricing model on-demand or spot (`pricing_model_not_indexed`); "
        "accelerator kind `gpu` (`not_gpu`); price scope `instance` (`price_scope_gpu_only`: "
        "a GPU-only rate is not an instance; `price_scope_curated_min`: a third party's "
        "summary never enters); form factor known where the model has several "
        "(`form_factor_unknown`: never guessed into SXM or PCIe); memory per GPU known "
        "(`memory_unknown`) and one of the index's (`variant_not_indexed`); spec match exact "
        "when the history carries it (`spec_not_exact`); a USD price (`no_usd_price`); last "
        f"confirmed no more than {stale_h:g} h before the day's end (`stale`).",
        "3. **Per-GPU price**: `price_usd_per_gpu_hour` (instance price / GPU count). A "
        "marketplace aggregate (`marketplace_min`) enters as one offer at its market median "
        "(its minimum is one host's price) when published, else at its minimum.",
        "4. **Statistic**: each provider counts once, at its cheapest eligible offer (a "
        "marketplace with thousands of listings cannot dominate); the index is the mean of "
        f"the provider prices after trimming floor(n x {m.trim_fraction:g}) providers from "
        "each end (none below "
        f"{math.ceil(1 / m.trim_fraction) if m.trim_fraction else 'any'} providers). "
        "Providers weigh equally. Dispersion: min, p25, median, p75, max of the provider "
        "prices.",
        "5. **Audit**: `input_sha256` is the sha256 of the sorted digests of every eligible "
        "offer version (offer key, `valid_from`, per-GPU price, raw response "
        "`snapshot_sha256`); `gpu_price_index_inputs.parquet` lists every offer of an indexed "
        "model with its reason (a stale one for "
        f"{m.list_stale_for.days} days after its last confirmation). Published days are never "
        "rewritten; `computed_through` says what the history held when a day was computed, "
        "and `scrape index recompute --date D` replays the archive up to it in an empty "
        "directory and must find the same value and hash.",
        "",
        "What it is not: these are **list prices** as published by providers, not "
        "transaction prices (discounts, negotiated and reserved rates are not seen); a day "
        "with one provider is that provider's price (see `provider_count`).",
    ]
    return "\n".join(lines)
