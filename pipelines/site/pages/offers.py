"""The offers page (`index.html`): every current offer in one table, drawn and filtered by
assets/offers.js from a JSON block in the page."""

from __future__ import annotations

import json

from pipelines.derive.tflops import PRECISIONS
from pipelines.site.data import slug
from pipelines.site.pages.base import Site, date_text, plain

DEFAULT_PRECISION = "bf16"


def offers_payload(site: Site) -> dict:
    cur = site.d.current
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
    pages = set(site.models)
    rows = []
    tf_cols = [PRECISIONS[p] for p in PRECISIONS]
    seen = cur["last_seen_at"] if "last_seen_at" in cur else cur.get("observed_at")
    for i, r in enumerate(cur.itertuples(index=False)):
        model = plain(r.gpu_model)
        rows.append(
            [
                r.provider,
                model or plain(r.gpu_name_raw) or "unknown",
                slug(model) if model in pages else None,
                plain(r.gpu_count),
                plain(r.gpu_memory_gb),
                plain(r.price_usd_per_gpu_hour),
                r.pricing_model,
                plain(r.term),
                plain(r.price_scope) or "instance",
                plain(r.accelerator_kind),
                plain(r.region),
                plain(r.instance_type),
                date_text(seen.iloc[i]) if seen is not None else None,
                *[plain(getattr(r, c, None)) for c in tf_cols],
            ]
        )
    return {
        "columns": columns,
        "rows": rows,
        "precisions": list(PRECISIONS),
        "pages": {p: v.get("pricing_page_url", "") for p, v in site.d.provider_pages.items()},
    }


def render(site: Site) -> str:
    cur = site.d.current
    payload = json.dumps(offers_payload(site), separators=(",", ":"), allow_nan=False)
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
    return site.layout("Offers", body, active="index.html")
