"""The price index page (`price-index.html`): every index of the current methodology with its
daily series charted (one line per pricing model), the latest value with its provider and
offer counts, the inputs of the latest day (every offer considered, included or excluded
with its reason), and the methodology itself.

Input: `gpu_price_index.parquet` and the latest day of `gpu_price_index_inputs.parquet`
(pipelines/site/data.py). Each index has a section anchored by its id
(`price-index.html#H100-SXM`): the alert mail and the feed link there. The methodology
section is the same text as the README's (pipelines/derive/index/methodology.py), rendered
with markdown-it-py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

import pandas as pd
from markdown_it import MarkdownIt

from pipelines.derive.index import CURRENT, INDEXED_PRICING_MODELS, index_ids
from pipelines.derive.index import methodology_markdown as _methodology_markdown
from pipelines.site import PRICE_INDEX_PAGE
from pipelines.site.pages.base import Site, date_text, legend, plain, txt
from pipelines.site.svg import DASHES, PALETTE, StepSeries, step_chart
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS

# Index values to a hundredth of a cent, as in the alert mail.
VALUE_DECIMALS = 4
_COLORS = dict(zip(INDEXED_PRICING_MODELS, PALETTE, strict=False))


def usd(value: object) -> str:
    v = plain(value)
    return "–" if v is None else f"{float(v):.{VALUE_DECIMALS}f}"


def _midnight(day: object) -> datetime:
    d = pd.Timestamp(day)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def index_series(rows: pd.DataFrame, index_id: str) -> list[StepSeries]:
    """One step series per pricing model: a day's value holds for that day; a day without a
    value is a gap. A point only where the value changes (or resumes after a gap), so the
    markers and their tooltips mark the moves, not every day."""
    out = []
    for pricing in INDEXED_PRICING_MODELS:
        sel = rows[rows["pricing_model"] == pricing].sort_values("date")
        if sel.empty:
            continue
        points: list[tuple[datetime, float | None]] = []
        prev: datetime | None = None
        for day, v in zip(sel["date"], sel["value_usd_per_gpu_hour"], strict=True):
            t = _midnight(day)
            if prev is not None and t - prev > timedelta(days=1):
                points.append((prev + timedelta(days=1), None))
            if not points or points[-1][1] != float(v):
                points.append((t, float(v)))
            prev = t
        out.append(
            StepSeries(
                label=f"{index_id} · {pricing}",
                provider=index_id,
                pricing_model=pricing,
                points=points,
                end=prev + timedelta(days=1),
                color=_COLORS.get(pricing, PALETTE[0]),
                dash=DASHES.get(pricing, ""),
                extra={"index": index_id, "pricing": pricing},
            )
        )
    return out


def _latest_rows(index: pd.DataFrame) -> pd.DataFrame:
    """Per (index, pricing model): its latest published day."""
    if index.empty:
        return index
    last = index.sort_values("date").groupby(["index_id", "pricing_model"], sort=False).tail(1)
    return last.set_index(["index_id", "pricing_model"])


def _latest_table(index: pd.DataFrame, *, with_index: bool) -> str:
    latest = _latest_rows(index)
    body = []
    ids = index_ids(CURRENT) if with_index else sorted(set(index["index_id"]))
    for index_id in ids:
        for pricing in INDEXED_PRICING_MODELS:
            key = (index_id, pricing)
            first = (
                f'<td><a href="#{escape(index_id)}">{escape(index_id)}</a></td>'
                if with_index
                else ""
            )
            if latest.empty or key not in latest.index:
                if with_index:
                    body.append(
                        f'<tr data-index="{escape(index_id)}" data-pricing="{pricing}">{first}'
                        f'<td>{pricing}</td><td colspan="8" class="empty">no value yet</td></tr>'
                    )
                continue
            r = latest.loc[key]
            body.append(
                f'<tr data-index="{escape(index_id)}" data-pricing="{pricing}">{first}'
                f"<td>{pricing}</td><td>{date_text(r['date'])}</td>"
                f'<td class="num value">{usd(r["value_usd_per_gpu_hour"])}</td>'
                f'<td class="num providers">{int(r["provider_count"])}</td>'
                f'<td class="num offers">{int(r["offer_count"])}</td>'
                f'<td class="num">{usd(r["min_usd_per_gpu_hour"])}</td>'
                f'<td class="num">{usd(r["median_usd_per_gpu_hour"])}</td>'
                f'<td class="num">{usd(r["max_usd_per_gpu_hour"])}</td>'
                f'<td class="methodology"><a href="#methodology">{txt(r["methodology_version"])}'
                f"</a></td></tr>"
            )
    head = "<th>Index</th>" if with_index else ""
    return (
        f'<div class="table-wrap"><table class="index-latest"><thead><tr>{head}'
        "<th>Pricing</th><th>Day</th><th class=num>$/GPU-h</th><th class=num>Providers</th>"
        "<th class=num>Offers</th><th class=num>Min</th><th class=num>Median</th>"
        "<th class=num>Max</th><th>Methodology</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _section(index: pd.DataFrame, index_id: str) -> str:
    rows = index[index["index_id"] == index_id]
    definition = next((d for d in CURRENT.indexes if d.index_id == index_id), None)
    if definition is not None:
        mem = " or ".join(f"{g:g} GB" for g in definition.memory_gb)
        what = f"{definition.gpu_model}, {definition.form_factor or 'one form factor'}, {mem}"
    else:
        comp = next(c for c in CURRENT.composites if c.index_id == index_id)
        what = "composite: " + " + ".join(f"{w:g} × {i}" for i, w in comp.weights)
    if rows.empty:
        chart = '<p class="empty">No value yet: no eligible offer on any day so far.</p>'
        table = ""
    else:
        series = index_series(rows, index_id)
        chart = (
            '<figure class="chart-box">'
            + step_chart(series, title=f"{index_id} index, USD per GPU-hour")
            + legend(series)
            + "</figure>"
        )
        table = _latest_table(rows, with_index=False)
    return (
        f'<section class="index" id="{escape(index_id)}"><h2>{escape(index_id)}</h2>'
        f'<p class="note">{escape(what)}</p>{chart}{table}</section>'
    )


def _inputs_table(inputs: pd.DataFrame) -> str:
    if inputs.empty:
        return '<p class="empty">No inputs published yet.</p>'
    x = inputs.assign(
        _id=inputs["index_id"].fillna("~"), _inc=~inputs["is_included"].astype(bool)
    ).sort_values(["_id", "pricing_model", "_inc", "price_usd_per_gpu_hour", "offer_key"])
    rows = []
    for r in x.to_dict("records"):
        included = bool(r["is_included"])
        why = plain(r["statistic_role"]) if included else plain(r["exclusion_reason"])
        rows.append(
            f'<tr class="{"included" if included else "excluded"}">'
            f"<td>{txt(r['index_id'])}</td><td>{txt(r['pricing_model'])}</td>"
            f"<td>{txt(r['provider'])}</td><td><code>{txt(r['offer_key'])}</code></td>"
            f'<td class="num">{usd(r["price_usd_per_gpu_hour"])}</td>'
            f"<td>{'yes' if included else 'no'}</td><td>{txt(why)}</td>"
            f"<td>{date_text(r['last_seen_at'])}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table class="index-inputs"><thead><tr><th>Index</th>'
        "<th>Pricing</th><th>Provider</th><th>Offer</th><th class=num>$/GPU-h</th>"
        "<th>Included</th><th>Role or reason</th><th>Last confirmed</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def methodology_html() -> str:
    """The methodology document (the README's text) as HTML; raw HTML in it is escaped."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.render(_methodology_markdown(CURRENT))


def render(site: Site) -> str:
    index = site.d.index
    index = index[index["methodology_version"] == CURRENT.version]
    inputs = site.d.index_inputs
    day = max(index["date"]) if not index.empty else None
    n_in = int(inputs["is_included"].sum()) if not inputs.empty else 0
    sections = "".join(_section(index, i) for i in index_ids(CURRENT))
    inputs_intro = (
        f"{len(inputs):,} offers of indexed GPU models in force at the end of "
        f"{date_text(day)} (UTC): {n_in:,} included, {len(inputs) - n_in:,} excluded, each "
        "with its reason. Included offers: <code>provider_price</code> is the provider's "
        "cheapest (it enters the mean), <code>trimmed</code> a provider price trimmed off, "
        "<code>above_provider_min</code> another offer of a provider already counted."
        if day is not None
        else "The index has no value yet."
    )
    downloads = " · ".join(
        f'<a href="{escape(site.data_href(t.file, 0))}">{t.file}</a>'
        for t in (PRICE_INDEX, PRICE_INDEX_INPUTS)
        if (site.d.datasets_dir / t.file).is_file()
    )
    body = f"""
<h1>GPU price index</h1>
<p class="lede">A daily list-price index per GPU variant (USD per GPU-hour), for on-demand
and spot prices separately: the trimmed mean of each provider's cheapest eligible offer in
force at the end of each UTC day, each provider counted once. Methodology version
<strong>{escape(CURRENT.version)}</strong> (<a href="#methodology">methodology</a>). These
are prices providers list, not what customers pay. Every value can be rebuilt from the raw
archive: <code>scrape index recompute --date D</code>. Every day and every input:
{downloads or "not published yet"}.</p>
<h2 id="latest">Latest values</h2>
{_latest_table(index, with_index=True)}
{sections}
<h2 id="inputs">Inputs of {date_text(day)}</h2>
<p>{inputs_intro}</p>
{_inputs_table(inputs)}
<h2 id="methodology">Methodology</h2>
<div class="methodology-doc">{methodology_html()}</div>
"""
    return site.layout("Price index", body, active=PRICE_INDEX_PAGE)
