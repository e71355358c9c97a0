"""`publish`: append the days not yet published to datasets/gpu_price_index.parquet and
datasets/gpu_price_index_inputs.parquet (a new methodology version recomputes the series)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.derive.index.compute import compute, fold_runs
from pipelines.derive.index.eligibility import DAY, computed_through, empty_frame, utc
from pipelines.derive.index.methodology import CURRENT, Methodology
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS

INDEX_FILE = PRICE_INDEX.file
INPUTS_FILE = PRICE_INDEX_INPUTS.file


def _read(path: Path, table) -> pd.DataFrame:
    if not path.is_file():
        return empty_frame(table)
    return pd.read_parquet(path)


# Days computed together by a backfill (see publish).
CHUNK_DAYS = 90


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
    done = set(old_index["date"]) | _covered_days(old_inputs)
    through = computed_through(history)
    if through is None:
        return {INDEX_FILE: 0, INPUTS_FILE: 0}
    c_first = utc(history["valid_from"]).min().floor("D")
    all_days = pd.date_range(c_first, through.floor("D") - DAY, freq="D").date
    todo = [d for d in all_days if d not in done]
    if not todo:
        if (datasets_dir / INDEX_FILE).is_file():
            return {INDEX_FILE: 0, INPUTS_FILE: 0}
        todo = [through.date()]  # not computable yet: writes the (empty) tables once
    valid_from, valid_to = utc(history["valid_from"]), utc(history["valid_to"])
    index_parts, input_parts = [], []
    # A backfill over years expands to one row per offer and day (millions): computed
    # CHUNK_DAYS at a time, each chunk's inputs turned into Arrow at once, memory stays
    # bounded by a chunk. Every day's value depends on that day's offers only, so the
    # chunks give exactly the rows of one computation.
    for start in range(0, len(todo), CHUNK_DAYS):
        days = todo[start : start + CHUNK_DAYS]
        # Only versions in force at the end of some day to compute: a run after years of
        # history computes one new day from the live offers, not from every version ever.
        lo, hi = pd.Timestamp(min(days), tz="UTC"), pd.Timestamp(max(days), tz="UTC") + DAY
        window = (valid_from < hi) & (valid_to.isna() | (valid_to >= lo + DAY))
        part_index, part_inputs = compute(
            history[window.to_numpy()], methodology=methodology, days=days, through=through
        )
        index_parts.append(part_index)
        input_parts.append(to_table(part_inputs, schema))
        del part_inputs
    new_index = pd.concat(index_parts, ignore_index=True)
    index = pd.concat([x for x in (old_index, new_index) if not x.empty] or [new_index])
    index = index.sort_values(list(PRICE_INDEX.primary_key), kind="stable")
    new_table = pa.concat_tables(input_parts)
    # A run of days cut by a chunk's end or by the previous publish continues in the new
    # rows: joined again, so the table is the same however the days were computed.
    inputs = join_runs(pa.concat_tables([old_inputs, new_table]))
    meta = {"gpu_price_index.methodology_version": methodology.version}
    write_parquet_atomic(inputs, inputs_path, schema=schema, metadata=meta)
    write_parquet_atomic(index, datasets_dir / INDEX_FILE, schema=PRICE_INDEX.schema, metadata=meta)
    return {INDEX_FILE: len(new_index), INPUTS_FILE: new_table.num_rows}


# What makes two inputs rows the same verdict on one offer version (compute._runs).
RUN_KEYS = (
    "offer_key",
    "valid_from",
    "index_id",
    "pricing_model",
    "is_included",
    "exclusion_reason",
    "statistic_role",
)


def join_runs(inputs):
    """`inputs` (Arrow, PRICE_INDEX_INPUTS) with every row that continues another (same
    RUN_KEYS, `date` the day after the other's `last_date`) folded into it, sorted by the
    primary key. Integer codes only: no Python object per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if inputs.num_rows < 2:
        return inputs
    codes = []
    for name in RUN_KEYS:
        col = inputs[name]
        if pa.types.is_timestamp(col.type) or pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.int64())
            codes.append(pc.fill_null(col, -(2**62)).to_numpy())
        else:
            enc = pc.dictionary_encode(col.combine_chunks())
            codes.append(pc.fill_null(enc.indices, -1).to_numpy())
    first = pc.cast(inputs["date"], pa.int32()).to_numpy()
    last = pc.cast(inputs["last_date"], pa.int32()).to_numpy()
    order, heads, tails = fold_runs(codes, first, last, 1)
    if len(heads) == len(order):
        return inputs.sort_by([(k, "ascending") for k in PRICE_INDEX_INPUTS.primary_key])
    kept = inputs.take(pa.array(order[heads]))
    # The run's end and the version's latest confirmation come from its last row.
    for name, values in (
        ("last_date", pa.array(last[order[tails]], pa.int32()).cast(pa.date32())),
        ("last_seen_at", inputs["last_seen_at"].take(pa.array(order[tails]))),
    ):
        i = kept.schema.get_field_index(name)
        kept = kept.set_column(i, kept.schema.field(i), values)
    return kept.sort_by([(k, "ascending") for k in PRICE_INDEX_INPUTS.primary_key])


def _covered_days(inputs) -> set:
    """Every day the inputs rows stand for (a row holds from `date` to `last_date`)."""
    if inputs.num_rows == 0:
        return set()
    spans = inputs.select(["date", "last_date"]).group_by(["date", "last_date"]).aggregate([])
    days: set = set()
    for first, last in zip(spans["date"].to_pylist(), spans["last_date"].to_pylist(), strict=True):
        days.update(pd.date_range(first, last, freq="D").date)
    return days
