"""The report site in a real browser (system Chromium via Playwright), opened from file://.

What a visitor sees: the index table has one row per current offer of the published
history, filters narrow it, a GPU page draws one series per provider and pricing model of
that GPU's history, every link to a published table resolves, and no page logs a console
error or asks for anything outside the site folder (no CDN, no font host).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest

from pipelines.site.build import build
from pipelines.site.data import slug
from tests.support import site_history
from tests.support.browser import chromium


def _current(datasets: Path) -> pd.DataFrame:
    df = pd.read_parquet(datasets / "gpu_prices.parquet")
    return df[df["valid_to"].isna() & ~df["is_withdrawn"].fillna(False).astype(bool)]


def _cheapest_rows(current: pd.DataFrame) -> int:
    """Rows at their GPU's lowest positive price per GPU-hour (what the index highlights)."""
    gpu = current["gpu_model"].fillna(current["gpu_name_raw"]).fillna("unknown").astype(str)
    price = current["price_usd_per_gpu_hour"].where(current["price_usd_per_gpu_hour"] > 0)
    lowest = price.groupby(gpu).transform("min")
    return int((price == lowest).sum())


@pytest.fixture(scope="module")
def history_site(tmp_path_factory):
    datasets = tmp_path_factory.mktemp("site") / "datasets"
    site_history.build(datasets)
    out = build(datasets).out_dir
    return datasets, out


class Visit:
    """A page that records console errors and every request it makes."""

    def __init__(self, browser, site: Path):
        self.site = site
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, name: str):
        name, _, fragment = name.partition("#")
        self.page.goto((self.site / name).as_uri() + (f"#{fragment}" if fragment else ""))
        self.page.wait_for_load_state("load")
        if name == "index.html":
            self.drawn()
        return self.page

    def drawn(self):
        """Wait until the offers table holds every row (it appends them in chunks)."""
        self.page.wait_for_selector("#offers[data-state=done]")

    def outside(self) -> list[str]:
        root = self.site.resolve()
        bad = []
        for url in self.requests:
            u = urlparse(url)
            if u.scheme != "file" or not Path(unquote(u.path)).resolve().is_relative_to(root):
                bad.append(url)
        return bad


def test_index_lists_every_current_offer_and_filters_by_gpu(example_datasets):
    site = example_datasets / "site"  # built by the run itself (post-publish step)
    current = _current(example_datasets)
    assert len(current) > 100
    with chromium() as browser:
        v = Visit(browser, site)
        page = v.open("index.html")
        rows = page.locator("#offers tbody tr")
        assert rows.count() == len(current)
        assert page.locator("#count").inner_text() == (
            f"Showing {len(current):,} of {len(current):,} offers"
        )
        # The cheapest row of each GPU shown is highlighted; equal cheapest rows all are
        # (Paperspace's P4000x2 costs exactly twice P4000, the same per GPU-hour).
        assert page.locator("#offers tbody tr.best").count() == _cheapest_rows(current) > 0
        page.select_option("select[data-filter=gpu]", "A100")
        v.drawn()
        a100 = current[current["gpu_model"] == "A100"]
        assert rows.count() == len(a100) > 1
        assert set(page.locator("#offers tbody tr td:nth-child(2)").all_inner_texts()) == {"A100"}
        assert "gpu=A100" in page.url
        # Sorting by price: the cells read in ascending order.
        prices = [
            float(t) for t in page.locator("#offers tbody tr td:nth-child(5)").all_inner_texts()
        ]
        assert prices == sorted(prices)
        page.locator("th[data-sort=usd_per_gpu_hour]").click()
        v.drawn()
        prices_desc = [
            float(t) for t in page.locator("#offers tbody tr td:nth-child(5)").all_inner_texts()
        ]
        assert prices_desc == sorted(prices, reverse=True)
        page.select_option("select[data-filter=provider]", "vastai")
        v.drawn()
        assert rows.count() == len(a100[a100["provider"] == "vastai"])
        page.click("#reset")
        v.drawn()
        assert rows.count() == len(current)
        # A filtered view can be linked.
        page = v.open("index.html#pricing_model=spot")
        assert rows.count() == int((current["pricing_model"] == "spot").sum())
        for name in ("value.html", "changes.html", "downloads.html", "gpu/a100.html"):
            v.open(name)
        assert v.errors == []
        assert v.outside() == []


def test_gpu_page_draws_one_series_per_provider_and_pricing_model(history_site):
    datasets, site = history_site
    hist = pd.read_parquet(datasets / "gpu_prices.parquet")
    with chromium() as browser:
        v = Visit(browser, site)
        for model in ("A100", "H100"):
            page = v.open(f"gpu/{slug(model)}.html")
            groups = hist[hist["gpu_model"] == model].groupby(
                ["provider", "pricing_model"], observed=True
            )
            expected = {f"{p} · {m}" for (p, m), _ in groups}
            series = page.locator("svg.chart g.series")
            assert {
                series.nth(i).get_attribute("data-series") for i in range(series.count())
            } == expected
            # Drawn, with a width on screen (a flat line has no height, so not "visible").
            box = page.locator("svg.chart g.series path").first.bounding_box()
            assert box is not None and box["width"] > 100
        # The single observation of H100 is drawn as a point with a step after it.
        page = v.open("gpu/h100.html")
        assert page.locator("svg.chart g.series circle").count() == 1
        assert page.locator("svg.chart g.series path").get_attribute("d").count("H") == 1
        # AWS spot A100 was withdrawn and came back: its line has a gap (two sub-paths).
        page = v.open("gpu/a100.html")
        d = page.locator('g.series[data-series="aws · spot"] path').get_attribute("d")
        assert d.count("M") == 2
        # The changes page lists every event, newest first, and links the feed.
        events = pd.read_parquet(datasets / "gpu_price_changes.parquet")
        page = v.open("changes.html")
        assert page.locator("table.changes tbody tr:not(.desc)").count() == len(events) > 0
        assert page.get_by_role("link", name="Atom feed").count() == 1
        assert v.errors == []
        assert v.outside() == []


def test_every_link_to_a_published_table_resolves(history_site):
    datasets, site = history_site
    with chromium() as browser:
        v = Visit(browser, site)
        page = v.open("downloads.html")
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        local = [unquote(urlparse(h).path) for h in hrefs if h.startswith("file://")]
        files = {Path(os.path.normpath(p)) for p in local if not p.endswith(".html")}
        expected = {
            datasets / n
            for n in (
                "datapackage.json",
                "gpu_specs.parquet",
                "gpu_price_per_tflop.parquet",
                "alerts.atom",
            )
        }
        assert expected <= files
        missing = [str(f) for f in files if not f.is_file()]
        # README.md (the dataset card) is written by the post-publish step, not by build()
        assert missing == [str(datasets / "README.md")]
        # Tables published as a directory of parts (the history; the append-only events)
        # link each part, and the parts linked are exactly what pandas reads as the table.
        for table in ("gpu_prices.parquet", "gpu_price_changes.parquet"):
            parts = [f for f in files if f.parent == datasets / table]
            assert parts, f"the Parquet parts of {table} are linked"
            assert sum(pd.read_parquet(p).shape[0] for p in parts) == len(
                pd.read_parquet(datasets / table)
            )
        # Every internal page link resolves too.
        pages = {Path(p) for p in local if p.endswith(".html")}
        assert all(p.is_file() for p in pages), pages
        assert v.errors == []


def test_thousands_of_offers_all_reach_the_table(tmp_path):
    """The table draws 150 rows at once and appends the rest in chunks: none is lost, a
    filter made while chunks are pending replaces them, and the highlight spans chunks."""
    datasets = site_history.many_offers(tmp_path / "datasets", 1200)
    site = build(datasets).out_dir
    with chromium() as browser:
        v = Visit(browser, site)
        page = v.open("index.html")
        rows = page.locator("#offers tbody tr")
        assert rows.count() == 1200
        keys = page.eval_on_selector_all(
            "#offers tbody tr", "trs => trs.map(t => t.cells[9].textContent)"
        )
        assert len(set(keys)) == 1200  # every offer once
        prices = [
            float(t) for t in page.locator("#offers tbody tr td:nth-child(5)").all_inner_texts()
        ]
        assert prices == sorted(prices)
        # Filter at once after a sort, before the chunks of the sort are in.
        page.locator("th[data-sort=provider]").click()
        page.select_option("select[data-filter=provider]", "aws")
        v.drawn()
        assert set(page.locator("#offers tbody tr td:nth-child(1)").all_inner_texts()) == {"aws ↗"}
        assert rows.count() == 120
        assert v.errors == [] and v.outside() == []
