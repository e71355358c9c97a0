"""The site's price index page in a real browser (system Chromium via Playwright), from
file://: after README command 1 every index of the methodology is listed with the numbers
of gpu_price_index.parquet, its series charted, the latest day's inputs as in
gpu_price_index_inputs.parquet, the methodology, and the page is in the navigation."""

from __future__ import annotations

import pandas as pd

from pipelines.derive import index as idx
from pipelines.ops import events
from pipelines.site.build import build
from tests.pipelines.ops.test_index_events import config, history
from tests.pipelines.site.test_site_browser import Visit
from tests.support import site_history
from tests.support.browser import chromium


def _cells(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        selector, "trs => trs.map(t => Array.from(t.cells).map(c => c.textContent.trim()))"
    )


def test_every_index_with_the_parquet_numbers_chart_inputs_and_methodology(example_datasets):
    index = pd.read_parquet(example_datasets / idx.INDEX_FILE)
    inputs = pd.read_parquet(example_datasets / idx.INPUTS_FILE)
    assert len(index) > 100 and set(index["methodology_version"]) == {idx.CURRENT_VERSION}
    latest_day = max(index["date"])
    day_inputs = inputs[(inputs["date"] <= latest_day) & (inputs["last_date"] >= latest_day)]
    with chromium() as browser:
        v = Visit(browser, example_datasets / "site")
        page = v.open("index.html")
        page.get_by_role("link", name="Price index").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/price-index.html")
        assert page.locator("nav a[aria-current=page]").inner_text() == "Price index"

        # The latest value of every index and pricing model, as published.
        rows = page.locator("#latest + .table-wrap table.index-latest tbody tr")
        assert rows.count() == 2 * len(idx.index_ids())
        shown = 0
        for index_id in idx.index_ids():
            for pricing in idx.INDEXED_PRICING_MODELS:
                row = page.locator(
                    f'#latest + .table-wrap tr[data-index="{index_id}"][data-pricing="{pricing}"]'
                )
                series = index[
                    (index["index_id"] == index_id) & (index["pricing_model"] == pricing)
                ]
                cells = [c.strip() for c in row.locator("td").all_inner_texts()]
                if series.empty:
                    assert cells[2] == "no value yet"
                    continue
                r = series.sort_values("date").iloc[-1]
                assert cells[:7] == [
                    index_id,
                    pricing,
                    r["date"].isoformat(),
                    f"{r['value_usd_per_gpu_hour']:.4f}",
                    str(r["provider_count"]),
                    str(r["offer_count"]),
                    f"{r['min_usd_per_gpu_hour']:.4f}"
                    if pd.notna(r["min_usd_per_gpu_hour"])
                    else "–",
                ]
                assert cells[-1] == r["methodology_version"]
                shown += 1
        assert shown == index.groupby(["index_id", "pricing_model"]).ngroups > 10

        # One section per index, its chart drawing one line per pricing model it has.
        for index_id in idx.index_ids():
            section = page.locator(f"section.index#{index_id}")
            assert section.count() == 1
            expected = {
                f"{index_id} · {p}"
                for p in set(index.loc[index["index_id"] == index_id, "pricing_model"])
            }
            got = section.locator("svg.chart g.series").evaluate_all(
                "gs => gs.map(g => g.dataset.series)"
            )
            assert set(got) == expected
        box = page.locator("section#H100-SXM svg.chart g.series path").first.bounding_box()
        assert box is not None and box["width"] > 0

        # The inputs of the latest day: every offer considered, with the same verdicts.
        assert page.locator("#inputs").inner_text() == f"Inputs of {latest_day.isoformat()}"
        got = _cells(page, "table.index-inputs tbody tr")
        assert len(got) == len(day_inputs) > 0
        expected_rows = {
            (
                r["index_id"] if isinstance(r["index_id"], str) else "–",
                r["pricing_model"],
                r["provider"],
                r["offer_key"],
                f"{r['price_usd_per_gpu_hour']:.4f}",
                "yes" if r["is_included"] else "no",
                _or_dash(r["statistic_role"] if r["is_included"] else r["exclusion_reason"]),
            )
            for r in day_inputs.to_dict("records")
        }
        assert {tuple(c[:7]) for c in got} == expected_rows

        # The methodology, and the links to it and to both tables.
        page.locator("table.index-latest td.methodology a").first.click()
        assert page.url.endswith("#methodology")
        doc = page.locator(".methodology-doc")
        assert f"Methodology version {idx.CURRENT_VERSION}" in doc.inner_text()
        assert doc.locator("table td code").all_inner_texts()[:2] == ["H100-SXM", "H100-PCIe"]
        hrefs = page.eval_on_selector_all("main a[href$='.parquet']", "as => as.map(a => a.href)")
        assert {h.rsplit("/", 1)[1] for h in hrefs} == {idx.INDEX_FILE, idx.INPUTS_FILE}
        assert v.errors == [] and v.outside() == []


def test_an_index_move_on_the_changes_page_links_to_its_section(tmp_path):
    cfg = config(tmp_path)
    site_history.build(cfg.datasets_dir)
    events.publish_index(history(day2=False), cfg, "v1")
    events.publish_index(history(day2=True), cfg, "v2")
    site = build(cfg.datasets_dir).out_dir
    with chromium() as browser:
        v = Visit(browser, site)
        page = v.open("changes.html")
        row = page.locator("table.changes tr.event", has_text="index_changed")
        assert row.count() == 1
        assert "3 → 2.5 USD/GPU-h" in row.inner_text() and "-16.7%" in row.inner_text()
        row.get_by_role("link", name="H100-SXM index").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/price-index.html#H100-SXM")
        # The move is a marker on the chart, with its value on hover.
        titles = page.locator("section#H100-SXM svg.chart circle title").all_text_contents()
        assert any(t.startswith("H100-SXM · on_demand: $2.50 from 2026-03-03") for t in titles)
        assert v.errors == [] and v.outside() == []


def _or_dash(value) -> str:
    return value if isinstance(value, str) and value else "–"
