"""The view's storage layout as readers see it (issue 14 item 4): a plain `pd.read_parquet`
builds no Python object per row, polars and DuckDB read the same rows, small closed parts
are merged as they accumulate, and a view published in the earlier layout is rewritten."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.normalize import frame_from_rows
from pipelines.store import delta, view
from pipelines.store.history import History
from tests.support.history_runs import plain
from tests.support.observations import T0, observation

HOUR = timedelta(hours=1)


def _run(step: int) -> dict[str, pd.DataFrame]:
    """One run: AWS's p5 price moves every step (a closed part per publish); a Scaleway
    offer in EUR carries an FX rate date."""
    at = T0 + step * HOUR
    aws = [
        observation("p4d.24xlarge", 32.7726, "A100", at=at),
        observation("p5.48xlarge", 98.32 - step, "H100", at=at),
    ]
    eur = observation(
        "H100-1-80G",
        2.73 + step / 100,
        "H100",
        provider="scaleway",
        region="fr-par-2",
        gpu_count=1.0,
        currency="EUR",
        at=at,
        source_url="https://api.scaleway.com/instance/v1/zones/fr-par-2/products/servers",
        fx_rate_usd_per_unit=1.08,
        fx_rate_date=date(2026, 11, 30),
    )
    eur["price_usd_per_hour"] = eur["price_per_hour"] * 1.08
    eur["price_usd_per_gpu_hour"] = eur["price_usd_per_hour"]
    return {"aws": frame_from_rows(aws), "scaleway": frame_from_rows([eur])}


def _closed_parts(datasets) -> list[str]:
    return sorted(p.name for p in (datasets / "gpu_prices.parquet").glob("closed-*"))


def test_read_parquet_gives_categoricals_and_arrow_dates_and_other_readers_agree(tmp_path):
    h = History(tmp_path)
    for step in range(3):
        h.merge_and_publish(_run(step))
    path = tmp_path / "gpu_prices.parquet"
    df = pd.read_parquet(path)
    # No column holds one Python object per row.
    assert [c for c in df.columns if df[c].dtype == object] == []
    assert df["offer_key"].dtype == pd.StringDtype("pyarrow")
    assert isinstance(df["provider"].dtype, pd.CategoricalDtype)
    assert df["fx_rate_date"].dtype == pd.ArrowDtype(pa.date32())
    assert str(df["valid_from"].dtype) == "datetime64[us, UTC]"
    assert df["price_per_hour"].dtype == "float64"
    # What users do with them works as with plain columns.
    eur = df[df.provider == "scaleway"]
    assert len(eur) == 3 and set(eur["fx_rate_date"]) == {date(2026, 11, 30)}
    assert (eur["fx_rate_date"] == date(2026, 11, 30)).all()
    assert df.groupby("provider", observed=True)["price_per_hour"].count().to_dict() == {
        "aws": 4,
        "scaleway": 3,
    }
    assert set(df["offer_key"].str.split("|").str[0]) == {"aws", "scaleway"}
    assert set(df["region"].astype("string").str.upper()) == {"US-EAST-1", "FR-PAR-2"}
    # polars and DuckDB read the same rows and dates from the same files.
    pl_df = pl.read_parquet(path / "*.parquet")
    assert pl_df.height == len(df) and pl_df.schema["fx_rate_date"] == pl.Date
    got = duckdb.sql(
        f"select provider, count(*), max(fx_rate_date) from '{path}/*.parquet' "
        "group by provider order by provider"
    ).fetchall()
    assert got == [("aws", 4, None), ("scaleway", 3, date(2026, 11, 30))]


def test_small_closed_parts_are_merged_into_full_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(view, "COMPACT_SMALL_PARTS", 2)
    monkeypatch.setattr(view, "ROW_GROUP_ROWS", 3)
    h = History(tmp_path)
    seen_parts = []
    for step in range(8):
        h.merge_and_publish(_run(step))
        seen_parts.append(len(_closed_parts(tmp_path)))
    # Never more than COMPACT_SMALL_PARTS + 1 small parts, though every run closed versions.
    assert max(seen_parts) <= 3 and seen_parts[-1] < 8
    merged = [p for p in _closed_parts(tmp_path) if p.endswith("-compacted.parquet")]
    assert merged
    meta = pq.ParquetFile(tmp_path / "gpu_prices.parquet" / merged[-1]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert all(n == 3 for n in sizes[:-1]) and 0 < sizes[-1] <= 3
    # The merged view holds the table's history, row for row.
    table = plain(delta.derive_history(h.table.records()))
    pd.testing.assert_frame_equal(
        plain(pd.read_parquet(tmp_path / "gpu_prices.parquet")), table, check_dtype=False
    )
    assert h.verify() == []


def test_a_view_in_the_earlier_layout_is_rewritten_by_the_next_refresh(tmp_path):
    h = History(tmp_path)
    for step in range(3):
        h.merge_and_publish(_run(step))
    # Make the published view look like one of the earlier layout: 32-bit dictionary
    # indices, no pandas metadata, no layout in the manifest, no price_basis column.
    vdir = (tmp_path / "gpu_prices.parquet").resolve()
    manifest_path = vdir.parent / f"{vdir.name}.json"
    manifest = json.loads(manifest_path.read_text())
    old = pa.schema(
        [
            f.with_type(pa.dictionary(pa.int32(), pa.string()))
            if pa.types.is_dictionary(f.type)
            else f
            for f in view.PRICES.storage_schema.remove_metadata()
        ]
    )
    for name, info in manifest["files"].items():
        part = view.View(tmp_path).parts / name
        rows = pq.read_table(part).cast(view.PRICES.schema).cast(old)
        rows = rows.drop_columns(["price_basis"])  # a column added since
        part.unlink()  # the version directory's hard link keeps the old inode: replace both
        pq.write_table(rows, part)
        (vdir / name).unlink()
        (vdir / name).hardlink_to(part)
        info.pop("layout")
        info["sha256"] = view.file_sha256(part)
    manifest_path.write_text(json.dumps(manifest))
    before = plain(pd.read_parquet(tmp_path / "gpu_prices.parquet")).assign(price_basis=None)
    assert before["fx_rate_date"].dtype == object  # what the earlier layout gave

    with h.view.lock():
        h.view.refresh(h.table)  # nothing new in the table: the layout alone
    after = tmp_path / "gpu_prices.parquet"
    assert all(info["layout"] == view.LAYOUT for info in h.view.manifest()["files"].values())
    for part in after.glob("*.parquet"):
        assert pq.read_schema(part).equals(view.PRICES.storage_schema, check_metadata=False)
        assert b"pandas" in pq.read_schema(part).metadata
    got = plain(pd.read_parquet(after))
    assert got["price_basis"].isna().all()
    pd.testing.assert_frame_equal(got, before[got.columns], check_dtype=False)
    assert h.verify() == []


def test_read_all_ending_from_gives_the_versions_in_force_then_with_the_same_types(tmp_path):
    """What the price index reads for its new days: the versions open or ending at or after
    a time, exactly the rows (and dtypes) of the whole history filtered that way."""
    h = History(tmp_path)
    for step in range(8):
        h.merge_and_publish(_run(step))
    everything = pd.read_parquet(tmp_path / "gpu_prices.parquet")
    for at in (T0, T0 + 3 * HOUR, T0 + 7 * HOUR, T0 + 30 * HOUR):
        got = h.read_all(ending_from=pd.Timestamp(at))
        keep = everything["valid_to"].isna() | (everything["valid_to"] >= pd.Timestamp(at))
        expected = everything[keep].reset_index(drop=True)
        # Same columns and dtypes (a categorical's categories are those of the rows read).
        assert [type(t) for t in got.dtypes] == [type(t) for t in expected.dtypes]
        pd.testing.assert_frame_equal(plain(got), plain(expected))
    assert len(h.read_all(ending_from=pd.Timestamp(T0 + 30 * HOUR))) == 3  # the open ones
    assert len(h.read_all(ending_from=pd.Timestamp(T0))) == len(everything)
