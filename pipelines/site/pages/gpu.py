"""One page per GPU model (`gpu/<slug>.html`): its price history per provider and pricing
model, its current offers and its spec rows."""

from __future__ import annotations

from html import escape

from pipelines.derive.specs import PRECISION_COLUMNS
from pipelines.site.pages.base import Site, date_text, legend, num, plain, txt
from pipelines.site.svg import DASHES, PALETTE, StepSeries, step_chart


def gpu_series(site: Site, model: str) -> list[StepSeries]:
    end = site.d.data_end
    out = []
    for (provider, pricing), points in site.d.history.series_of(model).items():
        out.append(
            StepSeries(
                label=f"{provider} · {pricing}",
                provider=provider,
                pricing_model=pricing,
                points=points,
                end=end,
                color=site.colors.get(provider, PALETTE[0]),
                dash=DASHES.get(pricing, ""),
                extra={"provider": provider, "pricing": pricing},
            )
        )
    return out


def _spec_table(site: Site, model: str) -> str:
    rows = site.rows_of("specs", model)
    if rows.empty:
        return '<p class="empty">No spec row for this GPU (its $/PFLOP-hour is unknown).</p>'
    figures = [(p.upper(), c) for p, c in PRECISION_COLUMNS.items()]
    head = "".join(f"<th class=num>{p}</th>" for p, _ in figures)
    body = []
    for r in rows.itertuples(index=False):
        src = plain(r.gpu_spec_source)
        link = (
            f'<a href="{escape(src)}" rel="noopener">source</a>'
            if isinstance(src, str) and src.startswith("http")
            else txt(src)
        )
        cells = "".join(f"<td class=num>{num(getattr(r, c))}</td>" for _, c in figures)
        body.append(
            f"<tr><td>{txt(r.gpu_form_factor)}</td><td class=num>{num(r.gpu_memory_gb)}</td>"
            f"<td>{txt(r.gpu_memory_type)}</td><td class=num>{num(r.gpu_memory_bandwidth_gbps)}</td>"
            f"{cells}<td class=num>{num(r.gpu_tdp_w)}</td><td>{link}</td></tr>"
        )
    r0 = rows.iloc[0]
    intro = " · ".join(
        x for x in (txt(r0.get("gpu_vendor")), txt(r0.get("gpu_architecture"))) if x != "–"
    )
    launch = plain(r0.get("gpu_launch_month"))
    intro += f" · launched {escape(str(launch))}" if launch else ""
    return (
        f"<p>{intro}. Dense TFLOPS per GPU (TOPS for INT8), as the clouds count a GPU.</p>"
        '<div class="table-wrap"><table class="spec"><thead><tr><th>Form factor</th>'
        "<th class=num>Memory GB</th><th>Memory</th><th class=num>GB/s</th>"
        f"{head}<th class=num>TDP W</th><th>Source</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _current_table(site: Site, model: str) -> str:
    rows = site.rows_of("current", model).sort_values(
        ["price_usd_per_gpu_hour", "offer_key"], na_position="last", kind="stable"
    )
    if rows.empty:
        return '<p class="empty">No current offer (see the history above).</p>'
    body = []
    for r in rows.itertuples(index=False):
        term = f" ({escape(str(r.term))})" if plain(r.term) else ""
        body.append(
            f"<tr><td>{site.provider_link(r.provider)}</td><td>{txt(r.instance_type)}{term}</td>"
            f"<td class=num>{num(r.gpu_count)}</td><td class=num>{num(r.gpu_memory_gb)}</td>"
            f"<td class=num>{num(r.price_usd_per_gpu_hour, 4)}</td><td>{txt(r.pricing_model)}</td>"
            f"<td>{txt(r.price_scope)}</td><td>{txt(r.region)}</td>"
            f"<td>{date_text(r.last_seen_at)}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table class="offers static"><thead><tr><th>Provider</th>'
        "<th>Instance</th><th class=num>GPUs</th><th class=num>Memory GB</th>"
        "<th class=num>$/GPU-h</th><th>Pricing</th><th>Scope</th><th>Region</th>"
        f"<th>Last confirmed</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def render(site: Site, model: str) -> str:
    series = gpu_series(site, model)
    chart = step_chart(series, title=f"{model} price history, USD per GPU-hour")
    body = f"""
<p class="crumbs"><a href="../index.html">Offers</a> › {escape(model)}</p>
<h1>{escape(model)}</h1>
<h2>Price history</h2>
<p class="lede">Lowest USD per GPU-hour of each provider and pricing model over time, from
the price history (each price version holds from <code>valid_from</code> to
<code>valid_to</code>; a gap means no offer). Hover a line or point for values.</p>
<figure class="chart-box">{chart}{legend(series)}</figure>
<h2>Current offers</h2>
<p><a href="../index.html#gpu={escape(model)}">Filter the offers table to {escape(model)}</a></p>
{_current_table(site, model)}
<h2>Specs</h2>
{_spec_table(site, model)}
"""
    return site.layout(model, body, depth=1)
