"""Google Colab: plan prices x compute-unit rates, the free tier from an nvidia-smi probe
(K80 -> T4 is one offer whose GPU changed), layout-change errors, fetch with/without probe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import colab
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "colab"
SIGNUP_URL = "https://colab.research.google.com/signup"
PROBE_URL = "https://probe.example/colab-free-tier.csv"
T0 = datetime(2019, 3, 1, tzinfo=UTC)
T1 = datetime(2024, 4, 23, tzinfo=UTC)


def _resp(name: str, url: str = SIGNUP_URL, at: datetime = T1) -> Response:
    return Response(url=url, fetched_at=at, body=(FIXTURES / name).read_bytes())


def _offer_key(o) -> str:
    # The published offer key (pipelines/schema.py OFFER_KEY_PARTS).
    return "|".join(
        str(v or "") for v in ("colab", o.instance_type, o.region, o.zone, o.pricing_model, o.term)
    )


def _by_type(offers):
    return {o.instance_type: o for o in offers}


def test_paid_plans_priced_per_gpu_hour_from_compute_units():
    result = colab.parse([_resp("signup_constructed.html")])
    offers = _by_type(result.offers)
    rates = {r.gpu_key: r for r in colab.gpu_rates()}
    assert set(offers) == {f"{p}:{g}" for p in ("pay_as_you_go", "pro", "pro_plus") for g in rates}

    payg = offers["pay_as_you_go:A100"]
    # $9.99 / 100 units x 11.77 units/hour
    assert payg.price_per_hour == float(
        Decimal("9.99") / 100 * rates["A100"].compute_units_per_hour
    )
    assert payg.pricing_model == "on_demand" and payg.term is None and payg.region == "global"
    assert payg.extra["packs"] == [
        {"price": "9.99", "compute_units": "100"},
        {"price": "49.99", "compute_units": "500"},
    ]
    assert payg.gpu_model_hint == "A100" and payg.price_unit_published == "compute_unit"
    assert payg.extra["rate_observed_on"] == rates["A100"].observed_on

    pro_plus = offers["pro_plus:T4"]
    assert pro_plus.pricing_model == "subscription" and pro_plus.term == "monthly"
    assert pro_plus.extra["subscription_price_per_month"] == "49.99"
    assert pro_plus.extra["price_per_compute_unit"] == str(Decimal("49.99") / 500)
    assert pro_plus.price_per_hour == float(
        Decimal("49.99") / 500 * rates["T4"].compute_units_per_hour
    )
    assert all(o.currency == "USD" and o.observed_at == T1 for o in result.offers)


def test_rate_table_rows_are_cited_and_dated():
    for r in colab.gpu_rates():
        assert r.compute_units_per_hour > 0 and r.source.startswith("https://")
        datetime.strptime(r.observed_on, "%Y-%m-%d")


def test_free_tier_from_probe():
    result = colab.parse(
        [_resp("signup_constructed.html"), _resp("free-tier_nvidia-smi_t4.csv", PROBE_URL)]
    )
    free = _by_type(result.offers)["free"]
    assert free.pricing_model == "free" and free.price_per_hour == 0.0 and free.gpu_count == 1.0
    assert free.gpu_name_raw == "Tesla T4" and free.gpu_memory_gb == 15.0
    assert free.source_url == PROBE_URL


def test_free_tier_k80_to_t4_is_one_offer_with_a_changed_gpu():
    before = colab.parse(
        [
            _resp("signup_constructed.html", at=T0),
            _resp("free-tier_nvidia-smi_k80.csv", PROBE_URL, T0),
        ]
    )
    after = colab.parse(
        [
            _resp("signup_constructed.html", at=T1),
            _resp("free-tier_nvidia-smi_t4.csv", PROBE_URL, T1),
        ]
    )
    k80, t4 = _by_type(before.offers)["free"], _by_type(after.offers)["free"]
    assert _offer_key(k80) == _offer_key(t4) == "colab|free|global||free|"
    assert (k80.gpu_name_raw, t4.gpu_name_raw) == ("Tesla K80", "Tesla T4")
    assert k80.gpu_memory_gb != t4.gpu_memory_gb and k80.price_per_hour == t4.price_per_hour == 0.0
    # Everything else is the same offer set.
    assert {_offer_key(o) for o in before.offers} == {_offer_key(o) for o in after.offers}


def test_no_probe_no_free_row():
    assert "free" not in _by_type(colab.parse([_resp("signup_constructed.html")]).offers)


def test_layout_changed_missing_plan_fails():
    with pytest.raises(ParseError) as err:
        colab.parse([_resp("signup_layout_changed.html")])
    assert err.value.provider == "colab" and err.value.source == SIGNUP_URL
    assert err.value.field == "plans.pro_plus" and "Colab Pro+" in str(err.value)


def test_unparseable_price_fails():
    with pytest.raises(ParseError) as err:
        colab.parse([_resp("signup_price_unparseable.html")])
    assert err.value.field == "pro.price"


def test_foreign_currency_page_fails():
    body = (
        (FIXTURES / "signup_constructed.html")
        .read_text()
        .replace("$9.99</span> per month", "€9.99</span> per month")
    )
    with pytest.raises(ParseError, match="not in USD"):
        colab.parse([Response(url=SIGNUP_URL, fetched_at=T1, body=body.encode())])


def test_bad_probe_fails():
    bad = Response(url=PROBE_URL, fetched_at=T1, body=b"name, memory.total [MiB]\nTesla T4, lots\n")
    with pytest.raises(ParseError) as err:
        colab.parse([_resp("signup_constructed.html"), bad])
    assert err.value.field == "memory.total" and err.value.source == PROBE_URL


def test_probe_alone_is_not_enough():
    with pytest.raises(ParseError, match="no plans page"):
        colab.parse([_resp("free-tier_nvidia-smi_t4.csv", PROBE_URL)])


def _run_fetch(settings: dict[str, str]):
    async def go():
        async with HttpClient(max_retries=0) as client:
            return await colab.fetch(
                FetchContext(
                    provider="colab",
                    client=client,
                    base_url="https://colab.test",
                    settings=settings,
                )
            )

    return asyncio.run(go())


@respx.mock
def test_fetch_signup_and_optional_probe():
    signup = respx.get("https://colab.test/signup").mock(
        return_value=httpx.Response(
            200, content=(FIXTURES / "signup_constructed.html").read_bytes()
        )
    )
    probe = respx.get(PROBE_URL).mock(
        return_value=httpx.Response(
            200, content=(FIXTURES / "free-tier_nvidia-smi_t4.csv").read_bytes()
        )
    )
    assert [r.kind for r in _run_fetch({})] == ["signup"]
    assert signup.calls[0].request.headers["Accept-Language"].startswith("en-US")
    responses = _run_fetch({"COLAB_FREE_TIER_PROBE_URL": PROBE_URL})
    assert [r.kind for r in responses] == ["signup", "free-tier-probe"] and probe.call_count == 1
    assert "free" in _by_type(colab.parse(responses).offers)
