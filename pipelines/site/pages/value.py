"""The value page (`value.html`): $/PFLOP-hour of dense BF16 and FP16 per GPU model."""

from __future__ import annotations

from pipelines.site.pages.base import Site
from pipelines.site.svg import Bar, bar_chart

# The value chart: dense tensor throughput is what training and inference buy.
VALUE_PRECISIONS = ("bf16", "fp16")
VALUE_PRICING = ("on_demand", "spot")


def render(site: Site) -> str:
    summary = site.d.summary
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
                note = (
                    f"{r['cheapest_provider']}, ${r['cheapest_price_usd_per_gpu_hour']:.3g}/GPU-h"
                )
                if r.get("cheapest_spec_match") == "family_lower_bound":
                    note += ", TFLOPS of the slowest variant"
                bars.append(
                    Bar(
                        label=r["gpu_model"],
                        value=float(r["cheapest_usd_per_pflop_hour"]),
                        note=note,
                        href=site.gpu_href(r["gpu_model"]),
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
    return site.layout("Value per PFLOP", body, active="value.html")
