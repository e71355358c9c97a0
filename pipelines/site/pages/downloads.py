"""Downloads & methodology (`downloads.html`): every published table, the sources and their
terms, what "dense", "price scope" and "unranked" mean, license and citation."""

from __future__ import annotations

from html import escape

from pipelines.site.pages.base import Site, num, plain
from pipelines.tables import UNRANKED_REASONS
from scrapers.registry import PROVIDERS


def render(site: Site, tables: list[dict]) -> str:
    rows = []
    for t in tables:
        paths = t["paths"]
        if len(paths) == 1:
            links = f'<a href="{escape(site.data_href(paths[0], 0))}">{escape(paths[0])}</a>'
        else:
            inner = "".join(
                f'<li><a href="{escape(site.data_href(p, 0))}">{escape(p)}</a></li>' for p in paths
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
            f"<td class=num>{num(t.get('rows'))}</td>"
            f"<td class=num>{_size(size)}</td></tr>"
        )
    dp = site.d.datapackage
    created = dp.get("created", "")
    providers = []
    for name in sorted(PROVIDERS):
        spec = PROVIDERS[name]
        page = site.d.provider_pages.get(name, {})
        sources = "<br>".join(
            f"<code>{escape(u)}</code>" for u in spec.source_urls
        )  # API endpoints: not links (most need parameters or a key)
        providers.append(
            f"<tr><td>{site.provider_link(name)}</td><td>{escape(spec.title)}</td>"
            f"<td>{sources}</td><td>{escape(page.get('terms', ''))}</td></tr>"
        )
    n_sources = (
        site.d.specs["gpu_spec_source"].nunique() if "gpu_spec_source" in site.d.specs else 0
    )
    body = f"""
<h1>Downloads</h1>
<p class="lede">Dataset version <code>{escape(site.d.version or "–")}</code>{
        f", published {escape(created[:19].replace('T', ' '))} UTC" if created else ""
    }. Every table is Parquet: <code>pd.read_parquet(path)</code>, DuckDB or any Arrow
reader. <a href="{escape(site.data_href("datapackage.json", 0))}">datapackage.json</a>
describes every file (schema, units, rows, sha256); the
<a href="{
        escape(site.data_href("README.md", 0))
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
    return site.layout("Downloads & methodology", body, active="downloads.html")


def _size(n: object) -> str:
    v = plain(n)
    if v is None:
        return "–"
    v = float(v)
    for unit in ("B", "kB", "MB", "GB"):
        if v < 1000 or unit == "GB":
            return f"{v:,.0f} {unit}" if unit == "B" else f"{v:,.1f} {unit}"
        v /= 1000
    return f"{v:.1f} GB"
