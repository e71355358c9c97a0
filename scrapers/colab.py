"""Google Colab: paid plans priced per GPU-hour, and the free tier's GPU.

Sources:

- The public plans page `https://colab.research.google.com/signup` (HTML, parsed with
  selectolax/lexbor). Each plan ("Pay As You Go", "Colab Pro", "Colab Pro+") is a heading
  followed by its price and its compute units ("$9.99 for 100 compute units",
  "$9.99 per month ... 100 compute units"). No recording of the page exists here, so the
  parser follows the page's visible content, not its markup: it finds each plan heading,
  takes the smallest element around it that holds no other plan heading, and reads the
  price and compute units from that element's text. A missing plan or unparseable price
  fails the provider.
- Google publishes how many compute units per hour each GPU burns only inside Colab, so
  those rates are a maintained table, `scrapers/data/colab_gpu_rates.csv`, with the date each
  rate was observed and its source.
- The free tier's GPU is not published anywhere; it is observed. The optional
  `COLAB_FREE_TIER_PROBE_URL` setting points at the verbatim output of
  `nvidia-smi --query-gpu=name,memory.total --format=csv` taken in a free-tier runtime
  (e.g. a file a scheduled notebook uploads). Without it no free-tier row is produced.

Output:

- paid plans: one row per (plan, GPU in the rate table), instance_type `<plan>:<GPU>`,
  region "global", price_per_hour = price per compute unit (plan price / plan units, exact
  Decimal) x compute units per hour. Pay As You Go is `on_demand`; Pro and Pro+ are
  `subscription` with term "monthly" (the monthly fee buys the units; unused units roll
  over for 90 days, so the per-hour figure is the marginal price of the plan's units).
- free tier: instance_type "free", pricing_model `free`, price 0, GPU from the probe. The
  GPU is deliberately not in the offer key, so K80 -> T4 is a GPU change of one offer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    Setting,
)

NAME = "colab"
DEFAULT_BASE_URL = "https://colab.research.google.com"
SIGNUP_PATH = "signup"
PROBE_SETTING = "COLAB_FREE_TIER_PROBE_URL"
REGION = "global"  # Colab does not let users pick a region
CURRENCY = "USD"  # the page is fetched with Accept-Language en-US and shows "$"
RATE_TABLE = "colab_gpu_rates.csv"


@dataclass(frozen=True)
class Plan:
    heading: str  # exact heading text on the page
    key: str  # instance_type prefix
    pricing_model: str
    term: str | None


PLANS = (
    Plan("Pay As You Go", "pay_as_you_go", "on_demand", None),
    Plan("Colab Pro", "pro", "subscription", "monthly"),
    Plan("Colab Pro+", "pro_plus", "subscription", "monthly"),
)
HEADINGS = "h1,h2,h3,h4,h5"
PRICE_RE = re.compile(r"\$\s*(\d+(?:\.\d+)?)")
UNITS_RE = re.compile(r"(\d[\d,]*)\s+compute\s+units", re.IGNORECASE)
# Pay As You Go sells packs: "$9.99 for 100 Compute Units", "$49.99 for 500 Compute Units".
PACK_RE = re.compile(
    r"\$\s*(\d+(?:\.\d+)?)\s*(?:for|/)\s*(\d[\d,]*)\s+compute\s+units", re.IGNORECASE
)
FOREIGN_CURRENCY_RE = re.compile(r"[€£¥₹]|\bEUR\b|\bGBP\b|\bJPY\b|\bINR\b")
PROBE_HEADER_RE = re.compile(r"^\s*name\s*,\s*memory\.total \[MiB\]\s*$", re.IGNORECASE)
PROBE_ROW_RE = re.compile(r"^\s*(?P<name>[^,]+?)\s*,\s*(?P<mib>\d+)\s*MiB\s*$")


@dataclass(frozen=True)
class GpuRate:
    gpu_key: str
    gpu_name_raw: str
    gpu_model_hint: str
    gpu_memory_gb: float
    compute_units_per_hour: Decimal
    observed_on: str
    source: str


@cache
def gpu_rates() -> tuple[GpuRate, ...]:
    return tuple(
        GpuRate(
            row["gpu_key"],
            row["gpu_name_raw"],
            row["gpu_model_hint"],
            float(row["gpu_memory_gb"]),
            Decimal(row["compute_units_per_hour"]),
            row["observed_on"],
            row["source"],
        )
        for row in tk.table(RATE_TABLE)
    )


async def fetch(ctx: FetchContext) -> list[Response]:
    out = [
        await ctx.client.get(
            ctx.url(SIGNUP_PATH),
            provider=NAME,
            kind="signup",
            headers={"Accept-Language": "en-US,en;q=0.8"},
        )
    ]
    probe_url = ctx.settings.get(PROBE_SETTING)
    if probe_url:
        out.append(await ctx.client.get(probe_url, provider=NAME, kind="free-tier-probe"))
    return out


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    pages = 0
    for resp in responses:
        if resp.not_modified:
            continue
        body = resp.read()
        text = body.decode("utf-8", errors="replace")
        if PROBE_HEADER_RE.match(text.splitlines()[0] if text.strip() else ""):
            result.offers.append(_free_offer(resp, text))
        else:
            pages += 1
            result.offers.extend(_plan_offers(resp, text))
    if pages == 0:
        source = responses[0].url if responses else "(no responses)"
        raise ParseError(NAME, source, "no plans page among the responses", field="signup")
    return result


def _free_offer(resp: Response, text: str) -> Offer:
    rows = [line for line in text.splitlines()[1:] if line.strip()]
    if not rows:
        raise ParseError(NAME, resp.url, "nvidia-smi output lists no GPU", field="name")
    m = PROBE_ROW_RE.match(rows[0])
    if not m:
        raise ParseError(
            NAME, resp.url, f"unparseable nvidia-smi row {rows[0]!r}", field="memory.total"
        )
    return free_tier_offer(
        resp,
        gpu_name_raw=m.group("name"),
        gpu_memory_gb=float(Decimal(m.group("mib")) / tk.MIB_PER_GIB),
        extra={
            "gpu_source": "nvidia-smi in a free-tier runtime",
            "gpu_memory_mib": int(m.group("mib")),
            "gpus_listed": len(rows),
        },
    )


def free_tier_offer(
    resp: Response, *, gpu_name_raw: str, extra: dict[str, Any], gpu_memory_gb: float | None = None
) -> Offer:
    """The free tier's one offer, whatever observed its GPU: the live probe here, or the
    dated recordings of scrapers/imports/colab_free_tier.py, so both describe it alike."""
    return tk.offer(
        resp,
        instance_type="free",
        region=REGION,
        pricing_model="free",
        currency=CURRENCY,
        price_per_hour=0.0,
        # One runtime gets one GPU; a multi-GPU answer would be a different product.
        gpu_count=1.0,
        gpu_name_raw=gpu_name_raw,
        gpu_memory_gb=gpu_memory_gb,
        price_unit_published="hour",
        extra=extra,
    )


def _plan_text(tree: LexborHTMLParser, plan: Plan, url: str) -> str:
    """Text of the smallest element around the plan's heading holding no other plan heading."""
    names = {p.heading for p in PLANS}
    heading = next(
        (h for h in tree.css(HEADINGS) if _clean(h.text(deep=True)) == plan.heading), None
    )
    if heading is None:
        raise ParseError(
            NAME, url, f"plan heading {plan.heading!r} not found", field=f"plans.{plan.key}"
        )
    card = heading
    while card.parent is not None and card.parent.tag != "html":
        others = [
            h
            for h in card.parent.css(HEADINGS)
            if _clean(h.text(deep=True)) in names - {plan.heading}
        ]
        if others:
            break
        card = card.parent
    return _clean(card.text(separator=" "))


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\xa0", " ")).strip()


def _plan_offers(resp: Response, html: str) -> list[Offer]:
    tree = LexborHTMLParser(html)
    for node in tree.css("script,style,noscript"):
        node.decompose()
    offers: list[Offer] = []
    src = tk.source(resp)
    for plan in PLANS:
        text = _plan_text(tree, plan, resp.url)
        if FOREIGN_CURRENCY_RE.search(text):
            raise ParseError(
                NAME,
                resp.url,
                f"{plan.heading}: price not in USD ({text[:80]!r})",
                field=f"{plan.key}.price",
            )
        extra: dict[str, Any] = {"plan": plan.heading}
        if plan.pricing_model == "on_demand":
            packs = [(Decimal(p), Decimal(u.replace(",", ""))) for p, u in PACK_RE.findall(text)]
            if not packs:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"{plan.heading}: no '$X for N compute units' price in {text[:120]!r}",
                    field=f"{plan.key}.price",
                )
            price, units = packs[0]
            extra["packs"] = [{"price": str(p), "compute_units": str(u)} for p, u in packs]
        else:
            pm, um = PRICE_RE.search(text), UNITS_RE.search(text)
            if pm is None:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"{plan.heading}: no $ price in {text[:120]!r}",
                    field=f"{plan.key}.price",
                )
            if um is None:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"{plan.heading}: no compute units in {text[:120]!r}",
                    field=f"{plan.key}.compute_units",
                )
            if "month" not in text.lower():
                raise ParseError(
                    NAME,
                    resp.url,
                    f"{plan.heading}: price period is not per month",
                    field=f"{plan.key}.price",
                )
            price, units = Decimal(pm.group(1)), Decimal(um.group(1).replace(",", ""))
            extra["subscription_price_per_month"] = str(price)
        if units <= 0:
            raise ParseError(
                NAME,
                resp.url,
                f"{plan.heading}: {units} compute units",
                field=f"{plan.key}.compute_units",
            )
        per_unit = price / units
        extra.update(
            {
                "plan_price": str(price),
                "plan_compute_units": str(units),
                "price_per_compute_unit": str(per_unit),
            }
        )
        for rate in gpu_rates():
            offers.append(
                src.offer(
                    instance_type=f"{plan.key}:{rate.gpu_key}",
                    region=REGION,
                    pricing_model=plan.pricing_model,
                    term=plan.term,
                    currency=CURRENCY,
                    price_per_hour=float(per_unit * rate.compute_units_per_hour),
                    gpu_count=1.0,
                    gpu_name_raw=rate.gpu_name_raw,
                    gpu_model_hint=rate.gpu_model_hint,
                    gpu_memory_gb=rate.gpu_memory_gb,
                    price_unit_published="compute_unit",
                    extra={
                        **extra,
                        "compute_units_per_hour": str(rate.compute_units_per_hour),
                        "rate_observed_on": rate.observed_on,
                        "rate_source": rate.source,
                    },
                )
            )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Google Colab (Pay As You Go, Pro, Pro+, free tier)",
    pricing_page_url="https://colab.research.google.com/signup",
    source_urls=(f"{DEFAULT_BASE_URL}/{SIGNUP_PATH}",),
    pricing_models=("on_demand", "subscription", "free"),
    validated_against="documented schema only",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="0 4 * * *",
    settings=(
        Setting(
            PROBE_SETTING,
            help="URL of nvidia-smi output from a free-tier runtime (enables the free-tier row)",
        ),
    ),
    notes=(
        "Per-GPU-hour prices = plan price per compute unit x compute units/hour from "
        "scrapers/data/colab_gpu_rates.csv; the free tier's GPU comes from an nvidia-smi probe "
        f"({PROBE_SETTING})."
    ),
)
