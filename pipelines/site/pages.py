"""HTML of every page of the report site, as strings (no template engine: the pages are
simple, and stdlib `html.escape` on every value keeps them safe).

Pages: index (filterable offers table; the table itself is drawn by assets/offers.js from a
JSON block in the page), one page per GPU model, value, changes, downloads & methodology.
Every link is relative, so the folder works from `file://` and from any static host.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

import pandas as pd

from pipelines.derive.changes import describe
from pipelines.derive.specs import PRECISION_COLUMNS
from pipelines.derive.tflops import PRECISIONS
from pipelines.site.data import SiteData, price_steps, slug
from pipelines.site.svg import DASHES, PALETTE, Bar, StepSeries, bar_chart, money, step_chart
from pipelines.tables import UNRANKED_REASONS
from scrapers.registry import PROVIDERS

SITE_TITLE = "Cloud GPU prices"
NAV = (
    ("index.html", "Offers"),
    ("value.html", "Value per PFLOP"),
    ("changes.html", "Changes"),
    ("downloads.html", "Downloads & methodology"),
)
DEFAULT_PRECISION = "bf16"
# The value chart: dense tensor throughput is what training and inference buy.
VALUE_PRECISIONS = ("bf16", "fp16")
VALUE_PRICING = ("on_demand", "spot")
CHANGES_SHOWN = 1000


def _v(value: object) -> object:
    """None for NaN/NA/NaT, Python scalars otherwise (JSON- and format-safe)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def _num(value: object, digits: int = 2) -> str:
    v = _v(value)
    if v is None:
        return "–"
    if isinstance(v, float):
        if v.is_integer():
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".")
    return escape(str(v))


def _date(value: object) -> str:
    v = _v(value)
    return "–" if v is None else pd.Timestamp(v).strftime("%Y-%m-%d")


def _txt(value: object) -> str:
    v = _v(value)
    return "–" if v is None or v == "" else escape(str(v))


def provider_colors(providers: list[str]) -> dict[str, str]:
    """One colour per provider, the same on every page."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(sorted(providers))}


class Site:
    """Renders the pages of one SiteData; `data_href` maps a published file to a link."""

    def __init__(self, data: SiteData, data_href, built_at: datetime):
        self.d = data
        self.data_href = data_href  # (relative path in datasets dir, depth) -> href
        self.built_at = built_at
        providers = sorted(set(data.history["provider"].dropna().astype(str)))
        self.colors = provider_colors(providers)
        models = data.current["gpu_model"].dropna().astype(str)
        hist_models = data.history["gpu_model"].dropna().astype(str)
        self.models = sorted(set(models) | set(hist_models), key=str.casefold)

    # --- layout ---------------------------------------------------------------------
    def layout(self, title: str, body: str, *, active: str = "", depth: int = 0) -> str:
        up = "../" * depth
        nav = "".join(
            f'<a href="{up}{href}"{" aria-current=page" if href == active else ""}>{label}</a>'
            for href, label in NAV
        )
        version = self.d.version or "unpublished"
        return (
            "<!doctype html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} · {SITE_TITLE}</title>"
            f'<link rel="stylesheet" href="{up}assets/style.css">'
            "</head><body>"
            f'<header><a class="brand" href="{up}index.html">{SITE_TITLE}</a><nav>{nav}</nav></header>'
            f"<main>{body}</main>"
            f"<footer>Dataset version <code>{escape(version)}</code> · data up to "
            f"{_date(self.d.data_end)} · site built {self.built_at:%Y-%m-%d %H:%M} UTC · "
            f'data <a href="{up}downloads.html#license">CC BY 4.0</a>, code Apache-2.0</footer>'
            "</body></html>\n"
        )

    def gpu_href(self, model: str, depth: int = 0) -> str:
        return f"{'../' * depth}gpu/{slug(model)}.html"

    def provider_link(self, provider: str) -> str:
        page = self.d.provider_pages.get(provider, {}).get("pricing_page_url")
        if not page:
            return escape(provider)
        return (
            f'<a href="{escape(page)}" rel="noopener" title="pricing page">{escape(provider)} ↗</a>'
        )

    # --- index ------------------------------------------------------------------------
    def offers_payload(self) -> dict:
        cur = self.d.current
        columns = [
            "provider",
            "gpu",
            "page",
            "gpu_count",
            "gpu_memory_gb",
            "usd_per_gpu_hour",
            "pricing_model",
            "term",
            "price_scope",
            "accelerator_kind",
            "region",
            "instance_type",
            "last_seen",
            *PRECISIONS,
        ]
        pages = set(self.models)
        rows = []
        tf_cols = [PRECISIONS[p] for p in PRECISIONS]
        seen = cur["last_seen_at"] if "last_seen_at" in cur else cur.get("observed_at")
        for i, r in enumerate(cur.itertuples(index=False)):
            model = _v(r.gpu_model)
            rows.append(
                [
                    r.provider,
                    model or _v(r.gpu_name_raw) or "unknown",
                    slug(model) if model in pages else None,
                    _v(r.gpu_count),
                    _v(r.gpu_memory_gb),
                    _v(r.price_usd_per_gpu_hour),
                    r.pricing_model,
                    _v(r.term),
                    _v(r.price_scope) or "instance",
                    _v(r.accelerator_kind),
                    _v(r.region),
                    _v(r.instance_type),
                    _date(seen.iloc[i]) if seen is not None else None,
                    *[_v(getattr(r, c, None)) for c in tf_cols],
                ]
            )
        return {
            "columns": columns,
            "rows": rows,
            "precisions": list(PRECISIONS),
            "pages": {p: v.get("pricing_page_url", "") for p, v in self.d.provider_pages.items()},
        }

    def index(self) -> str:
        cur = self.d.current
        payload = json.dumps(self.offers_payload(), separators=(",", ":"), allow_nan=False)
        payload = payload.replace("</", "<\\/")  # a value can never close the script element
        n_providers = cur["provider"].nunique()
        n_models = cur["gpu_model"].nunique()
        prec_opts = "".join(
            f'<option value="{p}"{" selected" if p == DEFAULT_PRECISION else ""}>{p.upper()}</option>'
            for p in PRECISIONS
        )
        filters = "".join(
            f'<label>{label}<select data-filter="{key}"><option value="">all</option></select></label>'
            for key, label in (
                ("gpu", "GPU"),
                ("provider", "Provider"),
                ("pricing_model", "Pricing"),
                ("region", "Region"),
                ("accelerator_kind", "Kind"),
            )
        )
        body = f"""
<h1>Current cloud GPU offers</h1>
<p class="lede">{len(cur):,} current offers of {n_models} GPU models from {n_providers} providers.
Prices in USD per GPU-hour (the whole instance price divided by its GPUs); $/PFLOP-hour is
what one hour of one PFLOP/s of <a href="downloads.html#dense">dense</a> peak compute costs.
The cheapest offer of each GPU among the rows shown is <mark class="best-key">highlighted</mark>.</p>
<form class="filters" id="filters" onsubmit="return false">{filters}
<label>$/PFLOP-h precision<select id="precision">{prec_opts}</select></label>
<button type="button" id="reset">Reset</button></form>
<p class="count" id="count" aria-live="polite"></p>
<div class="table-wrap"><table class="offers" id="offers"><thead><tr>
<th data-sort="provider">Provider</th><th data-sort="gpu">GPU</th>
<th data-sort="gpu_count" class="num">GPUs</th><th data-sort="gpu_memory_gb" class="num">Memory GB</th>
<th data-sort="usd_per_gpu_hour" class="num" aria-sort="ascending">$/GPU-h</th>
<th data-sort="pflop" class="num">$/PFLOP-h <span id="prec-label"></span></th>
<th data-sort="pricing_model">Pricing</th><th data-sort="price_scope">Scope</th>
<th data-sort="region">Region</th><th data-sort="instance_type">Instance</th>
<th data-sort="last_seen">Last confirmed</th></tr></thead><tbody></tbody></table></div>
<noscript><p>The offers table needs JavaScript; the same data is in
<a href="downloads.html">the published tables</a>.</p></noscript>
<script type="application/json" id="offers-data">{payload}</script>
<script src="assets/offers.js"></script>
"""
        return self.layout("Offers", body, active="index.html")

    # --- GPU pages --------------------------------------------------------------------
    def gpu_series(self, model: str) -> list[StepSeries]:
        hist = self.d.history
        rows = hist[hist["gpu_model"] == model]
        end = self.d.data_end
        out = []
        for (provider, pricing), grp in rows.groupby(["provider", "pricing_model"], sort=True):
            points = price_steps(grp, end)
            if not points:
                continue
            out.append(
                StepSeries(
                    label=f"{provider} · {pricing}",
                    provider=provider,
                    pricing_model=pricing,
                    points=points,
                    end=end,
                    color=self.colors.get(provider, PALETTE[0]),
                    dash=DASHES.get(pricing, ""),
                    extra={"provider": provider, "pricing": pricing},
                )
            )
        return out

    def _legend(self, series: list[StepSeries]) -> str:
        items = []
        for s in series:
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            last = next((v for _, v in reversed(s.points) if v is not None), None)
            now = f" {money(last)}" if last is not None and s.points[-1][1] is not None else ""
            items.append(
                f'<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" '
                f'y2="5" stroke="{s.color}" stroke-width="3"{dash}/></svg>{escape(s.label)}'
                f'<span class="note">{now}</span></li>'
            )
        return f'<ul class="legend">{"".join(items)}</ul>'

    def _spec_table(self, model: str) -> str:
        specs = self.d.specs
        rows = specs[specs["gpu_model"].astype(str) == model]
        if rows.empty:
            return '<p class="empty">No spec row for this GPU (its $/PFLOP-hour is unknown).</p>'
        figures = [(p.upper(), c) for p, c in PRECISION_COLUMNS.items()]
        head = "".join(f"<th class=num>{p}</th>" for p, _ in figures)
        body = []
        for r in rows.itertuples(index=False):
            src = _v(r.gpu_spec_source)
            link = (
                f'<a href="{escape(src)}" rel="noopener">source</a>'
                if isinstance(src, str) and src.startswith("http")
                else _txt(src)
            )
            cells = "".join(f"<td class=num>{_num(getattr(r, c))}</td>" for _, c in figures)
            body.append(
                f"<tr><td>{_txt(r.gpu_form_factor)}</td><td class=num>{_num(r.gpu_memory_gb)}</td>"
                f"<td>{_txt(r.gpu_memory_type)}</td><td class=num>{_num(r.gpu_memory_bandwidth_gbps)}</td>"
                f"{cells}<td class=num>{_num(r.gpu_tdp_w)}</td><td>{link}</td></tr>"
            )
        r0 = rows.iloc[0]
        intro = " · ".join(
            x for x in (_txt(r0.get("gpu_vendor")), _txt(r0.get("gpu_architecture"))) if x != "–"
        )
        launch = _v(r0.get("gpu_launch_month"))
        intro += f" · launched {escape(str(launch))}" if launch else ""
        return (
            f"<p>{intro}. Dense TFLOPS per GPU (TOPS for INT8), as the clouds count a GPU.</p>"
            '<div class="table-wrap"><table class="spec"><thead><tr><th>Form factor</th>'
            "<th class=num>Memory GB</th><th>Memory</th><th class=num>GB/s</th>"
            f"{head}<th class=num>TDP W</th><th>Source</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def _current_table(self, model: str) -> str:
        cur = self.d.current
        rows = cur[cur["gpu_model"] == model].sort_values(
            ["price_usd_per_gpu_hour", "offer_key"], na_position="last", kind="stable"
        )
        if rows.empty:
            return '<p class="empty">No current offer (see the history above).</p>'
        body = []
        for r in rows.itertuples(index=False):
            term = f" ({escape(str(r.term))})" if _v(r.term) else ""
            body.append(
                f"<tr><td>{self.provider_link(r.provider)}</td><td>{_txt(r.instance_type)}{term}</td>"
                f"<td class=num>{_num(r.gpu_count)}</td><td class=num>{_num(r.gpu_memory_gb)}</td>"
                f"<td class=num>{_num(r.price_usd_per_gpu_hour, 4)}</td><td>{_txt(r.pricing_model)}</td>"
                f"<td>{_txt(r.price_scope)}</td><td>{_txt(r.region)}</td>"
                f"<td>{_date(r.last_seen_at)}</td></tr>"
            )
        return (
            '<div class="table-wrap"><table class="offers static"><thead><tr><th>Provider</th>'
            "<th>Instance</th><th class=num>GPUs</th><th class=num>Memory GB</th>"
            "<th class=num>$/GPU-h</th><th>Pricing</th><th>Scope</th><th>Region</th>"
            f"<th>Last confirmed</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    def gpu_page(self, model: str) -> str:
        series = self.gpu_series(model)
        chart = step_chart(series, title=f"{model} price history, USD per GPU-hour")
        body = f"""
<p class="crumbs"><a href="../index.html">Offers</a> › {escape(model)}</p>
<h1>{escape(model)}</h1>
<h2>Price history</h2>
<p class="lede">Lowest USD per GPU-hour of each provider and pricing model over time, from
the price history (each price version holds from <code>valid_from</code> to
<code>valid_to</code>; a gap means no offer). Hover a line or point for values.</p>
<figure class="chart-box">{chart}{self._legend(series)}</figure>
<h2>Current offers</h2>
<p><a href="../index.html#gpu={escape(model)}">Filter the offers table to {escape(model)}</a></p>
{self._current_table(model)}
<h2>Specs</h2>
{self._spec_table(model)}
"""
        return self.layout(model, body, depth=1)

    # --- value ------------------------------------------------------------------------
    def value(self) -> str:
        summary = self.d.summary
        sections = []
        for precision in VALUE_PRECISIONS:
            for pricing in VALUE_PRICING:
                part = summary
                if not part.empty:
                    keep = (part["precision"] == precision) & (part["pricing_model"] == pricing)
                    # Like with like: whole-instance prices of GPUs (a GPU-only SKU or a TPU
                    # chip is ranked on its own in the tables, not in this chart).
                    if "price_scope" in part:
                        keep &= part["price_scope"].fillna("instance") == "instance"
                    if "accelerator_kind" in part:
                        keep &= part["accelerator_kind"].fillna("gpu") == "gpu"
                    part = part[keep & part["cheapest_usd_per_pflop_hour"].notna()]
                bars = []
                for r in part.sort_values(["cheapest_usd_per_pflop_hour", "gpu_model"]).to_dict(
                    "records"
                ):
                    note = f"{r['cheapest_provider']}, ${r['cheapest_price_usd_per_gpu_hour']:.3g}/GPU-h"
                    if r.get("cheapest_spec_match") == "family_lower_bound":
                        note += ", TFLOPS of the slowest variant"
                    bars.append(
                        Bar(
                            label=r["gpu_model"],
                            value=float(r["cheapest_usd_per_pflop_hour"]),
                            note=note,
                            href=self.gpu_href(r["gpu_model"]),
                        )
                    )
                title = f"{precision.upper()} dense, {pricing.replace('_', '-')}"
                sections.append(
                    f'<section class="value" id="{precision}-{pricing}"><h2>{title}</h2>'
                    f'<figure class="chart-box">{bar_chart(bars, unit="per PFLOP-hour", title=title)}'
                    "</figure></section>"
                )
        body = f"""
<h1>Value: USD per PFLOP-hour</h1>
<p class="lede">For each GPU model, the cheapest current offer's price of one hour of one
PFLOP/s of <a href="downloads.html#dense">dense</a> peak tensor compute
(price per GPU-hour × 1000 ÷ dense TFLOPS per GPU), and the provider offering it. Lower is
better. GPUs without a dense figure for the precision are not shown.</p>
{"".join(sections)}
"""
        return self.layout("Value per PFLOP", body, active="value.html")

    # --- changes ----------------------------------------------------------------------
    def changes(self) -> str:
        ev = self.d.changes
        feed = self._resource_path("atom") or "alerts.atom"
        feed_exists = (self.d.datasets_dir / feed).exists()
        feed_link = (
            f'<a href="{escape(self.data_href(feed, 0))}">Atom feed</a>'
            if feed_exists
            else "Atom feed (not published yet)"
        )
        if ev.empty:
            table = '<p class="empty">No change events yet: they appear from the second run of a provider.</p>'
        else:
            ev = ev.sort_values(["detected_at", "event_id"], ascending=[False, True]).head(
                CHANGES_SHOWN
            )
            rows = []
            for r in ev.to_dict("records"):
                r = {k: _v(v) for k, v in r.items()}
                pct = _v(r.get("change_pct"))
                cls = "" if pct is None else (" down" if pct < 0 else " up")
                pct_s = "–" if pct is None else f"{pct:+.1f}%"
                src = _v(r.get("source_url"))
                link = f'<a href="{escape(src)}" rel="noopener">source</a>' if src else "–"
                model = _v(r.get("gpu_model"))
                gpu = (
                    f'<a href="{self.gpu_href(model)}">{escape(model)}</a>'
                    if model in self.models
                    else _txt(model)
                )
                old, new = _v(r.get("old_value")), _v(r.get("new_value"))
                per = "/GPU-h" if r.get("price_unit") == "gpu_hour" else "/h"
                unit = f" {escape(str(r['currency']))}{per}" if r.get("currency") else ""
                rows.append(
                    f'<tr class="event"><td>{_date(r["detected_at"])}</td><td>{escape(str(r["event_type"]))}</td>'
                    f"<td>{self.provider_link(r['provider'])}</td><td>{gpu}</td>"
                    f"<td>{_txt(r.get('pricing_model'))}</td><td>{_txt(r.get('region'))}</td>"
                    f"<td>{_txt(r.get('instance_type'))}</td>"
                    f"<td>{_txt(old)} → {_txt(new)}{unit}</td>"
                    f'<td class="num{cls}">{pct_s}</td><td>{link}</td></tr>'
                    f'<tr class="desc"><td colspan="10">{escape(describe(r))}</td></tr>'
                )
            table = (
                '<div class="table-wrap"><table class="changes"><thead><tr><th>Detected</th>'
                "<th>Event</th><th>Provider</th><th>GPU</th><th>Pricing</th><th>Region</th>"
                "<th>Instance</th><th>Old → new</th><th class=num>Change</th><th>Link</th>"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            )
        total = len(self.d.changes)
        shown = f" (the latest {CHANGES_SHOWN:,} of {total:,})" if total > CHANGES_SHOWN else ""
        body = f"""
<h1>Recent price changes</h1>
<p class="lede">Change events between consecutive good runs of each provider{shown}, newest
first. Prices are whole-instance prices per hour in the provider's currency unless the event
says per GPU-hour. Follow them in a feed reader: {feed_link}.</p>
{table}
"""
        return self.layout("Changes", body, active="changes.html")

    # --- downloads & methodology -----------------------------------------------------------
    def _resource_path(self, fmt: str) -> str | None:
        for r in self.d.datapackage.get("resources", []):
            if r.get("format") == fmt and isinstance(r.get("path"), str):
                return r["path"]
        return None

    def downloads(self, tables: list[dict]) -> str:
        rows = []
        for t in tables:
            paths = t["paths"]
            if len(paths) == 1:
                links = f'<a href="{escape(self.data_href(paths[0], 0))}">{escape(paths[0])}</a>'
            else:
                inner = "".join(
                    f'<li><a href="{escape(self.data_href(p, 0))}">{escape(p)}</a></li>'
                    for p in paths
                )
                links = (
                    f"<details><summary>{escape(t['display'])} ({len(paths)} Parquet files, "
                    f"read together)</summary><ul>{inner}</ul></details>"
                )
            size = t.get("bytes")
            rows.append(
                f"<tr><td><strong>{escape(t.get('title') or t['name'])}</strong><br>"
                f"<code>{escape(t['name'])}</code></td><td>{links}</td>"
                f"<td>{escape(t.get('description') or '')}</td>"
                f"<td class=num>{_num(t.get('rows'))}</td>"
                f"<td class=num>{_size(size)}</td></tr>"
            )
        dp = self.d.datapackage
        created = dp.get("created", "")
        providers = []
        for name in sorted(PROVIDERS):
            spec = PROVIDERS[name]
            page = self.d.provider_pages.get(name, {})
            sources = "<br>".join(
                f"<code>{escape(u)}</code>" for u in spec.source_urls
            )  # API endpoints: not links (most need parameters or a key)
            providers.append(
                f"<tr><td>{self.provider_link(name)}</td><td>{escape(spec.title)}</td>"
                f"<td>{sources}</td><td>{escape(page.get('terms', ''))}</td></tr>"
            )
        n_sources = (
            self.d.specs["gpu_spec_source"].nunique() if "gpu_spec_source" in self.d.specs else 0
        )
        body = f"""
<h1>Downloads</h1>
<p class="lede">Dataset version <code>{escape(self.d.version or "–")}</code>{
            f", published {escape(created[:19].replace('T', ' '))} UTC" if created else ""
        }. Every table is Parquet: <code>pd.read_parquet(path)</code>, DuckDB or any Arrow
reader. <a href="{escape(self.data_href("datapackage.json", 0))}">datapackage.json</a>
describes every file (schema, units, rows, sha256); the
<a href="{
            escape(self.data_href("README.md", 0))
        }">dataset card</a> summarises coverage and limits.</p>
<div class="table-wrap"><table class="downloads"><thead><tr><th>Table</th><th>File</th>
<th>What</th><th class=num>Rows</th><th class=num>Size</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>

<h1 id="methodology">Methodology</h1>
<h2 id="pipeline">Where the numbers come from</h2>
<p>Each provider's published prices are fetched from its public price API or page (below),
archived byte for byte, parsed, normalised to USD per hour (non-USD prices with the ECB euro
reference rate of the observation date) and checked against the provider's last good run
before they are published. One row of the history is one <em>price version</em> of an offer:
it holds from <code>valid_from</code> to <code>valid_to</code> (empty while current).</p>
<h2 id="dense">Dense TFLOPS</h2>
<p>All compute figures are <strong>dense</strong> peak throughput per GPU. NVIDIA quotes its
tensor-core figures from Ampere on with 2:4 structured sparsity, which doubles them; we
halve those, so an H100 SXM counts 989 BF16 TFLOPS, not 1,979. A GPU is counted as the clouds
count it (a K80 or M60 "GPU" is one die; an MI250X is one GCD). $/PFLOP-hour =
price per GPU-hour × 1000 ÷ dense TFLOPS. The spec table cites a source for every row
({n_sources} distinct datasheets and vendor pages).</p>
<h2 id="scope">Price scope</h2>
<dl>
<dt><code>instance</code></dt><dd>The price of a whole instance (GPUs with their CPU, memory
and disk) divided by its GPU count. Most offers.</dd>
<dt><code>gpu_only</code></dt><dd>The price of the GPU alone, to be added to a VM's price (e.g.
Google Cloud's attachable GPUs): a lower bound of what you pay.</dd>
<dt><code>marketplace_min</code></dt><dd>The lowest of many hosts' listings for the same GPU and
place (Vast.ai, TensorDock); the count and median are in the table.</dd>
<dt><code>curated_min</code></dt><dd>The lowest price of a curated list the provider publishes.</dd>
</dl>
<h2 id="unranked">Unranked offers</h2>
<p>Every current offer is in the tables; one that cannot be compared fairly on $/PFLOP-hour
is listed unranked with its reason:</p>
<dl>{
            "".join(
                f"<dt><code>{escape(k)}</code></dt><dd>{escape(v)}</dd>"
                for k, v in UNRANKED_REASONS.items()
            )
        }</dl>
<p>When the provider does not say the form factor or memory, the lowest figure of the fitting
spec variants is used (<code>spec_match = family_lower_bound</code>), so an offer is never
flattered. Each pricing model, price scope and accelerator kind is ranked on its own.</p>
<h2 id="sources">Sources and their terms</h2>
<div class="table-wrap"><table class="sources"><thead><tr><th>Provider</th><th>What</th>
<th>Fetched from</th><th>Terms</th></tr></thead><tbody>{"".join(providers)}</tbody></table></div>
<p>Currency conversion: the ECB euro foreign exchange reference rates
(<code>https://www.ecb.europa.eu/stats/eurofxref/</code>), reused with the source
acknowledged, as the ECB permits. GPU specs: vendor datasheets and pages, one cited per row
of <code>gpu_specs.parquet</code>.</p>
<h2 id="license">License and citation</h2>
<p>The dataset (this compilation: the normalised tables, specs and derived figures) is
published under <a href="https://creativecommons.org/licenses/by/4.0/" rel="noopener">CC BY
4.0</a>: use it for anything, crediting "gpu-prices" with the dataset version. Prices remain the
providers' published facts. The code is Apache-2.0. Cite with the repository's
<code>CITATION.cff</code>.</p>
"""
        return self.layout("Downloads & methodology", body, active="downloads.html")


def _size(n: object) -> str:
    v = _v(n)
    if v is None:
        return "–"
    v = float(v)
    for unit in ("B", "kB", "MB", "GB"):
        if v < 1000 or unit == "GB":
            return f"{v:,.0f} {unit}" if unit == "B" else f"{v:,.1f} {unit}"
        v /= 1000
    return f"{v:.1f} GB"
