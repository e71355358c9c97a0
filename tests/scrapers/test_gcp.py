"""Google Cloud: the recorded Billing Catalog page (A100 at its exact units + nanos price),
constructed rows following the real SKU layout (spot, commitments, A3 machines, TPU),
layout-change errors, and key-bearing paging."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import gcp
from scrapers.base import FetchContext, ParseError, Response, SkipProvider
from scrapers.http import HttpClient
from tests.support.server import send

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gcp"
RECORDED = FIXTURES / "skus_page1_opencost_2023.json"
CONSTRUCTED = FIXTURES / "skus_page2_constructed.json"
URL = (
    "https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus?key=REDACTED&pageSize=5000"
)
FETCHED_AT = datetime(2023, 8, 14, tzinfo=UTC)


def _resp(path: Path, url: str = URL) -> Response:
    return Response(url=url, fetched_at=FETCHED_AT, body=path.read_bytes())


def _by_key(offers):
    out = {}
    for o in offers:
        key = (o.instance_type, o.region, o.pricing_model)
        assert key not in out, f"duplicate offer {key}"
        out[key] = o
    return out


def test_recorded_page_a100_exact_price_per_region():
    result = gcp.parse([_resp(RECORDED)])
    offers = _by_key(result.offers)
    a100 = {k: o for k, o in offers.items() if k[0] == "nvidia-tesla-a100"}
    assert set(a100) == {
        ("nvidia-tesla-a100", r, "on_demand") for r in ("us-central1", "us-east1", "us-west1")
    }
    for o in a100.values():
        # units "2" + nanos 933908000: exact, no drift in the 6th decimal
        assert o.price_per_hour == 2.933908
        assert Decimal(repr(o.price_per_hour)) == Decimal("2.933908")
        assert o.gpu_count == 1.0 and o.price_unit_published == "gpu_hour"
        assert o.gpu_name_raw == "Nvidia Tesla A100" and o.gpu_model_hint == "A100"
        assert o.gpu_memory_gb == 40.0 and o.currency == "USD" and o.term is None
        assert o.extra["sku_id"] == "039F-D0DA-4055"
        assert o.extra["effective_time"] == "2023-03-24T10:52:50.681Z"
        assert o.observed_at == FETCHED_AT and o.source_url == URL
        assert o.snapshot_sha256 == _resp(RECORDED).sha256
    assert result.warnings == [] and result.unknown == []


def test_recorded_page_builds_a2_machines_from_core_ram_gpu_skus():
    offers = _by_key(gcp.parse([_resp(RECORDED)]).offers)
    one = offers[("a2-highgpu-1g", "us-east1", "on_demand")]
    # 12 x 0.031611 (A2 core) + 85 x 0.004237 (A2 RAM GiB) + 1 x 2.933908 (A100)
    assert one.extra["price_exact"] == "3.673385"
    assert one.price_per_hour == 3.673385
    assert (one.gpu_count, one.vcpus, one.memory_gb) == (1.0, 12.0, 85.0)
    assert one.extra["components"]["ram_gib"]["sku_id"] == "2390-DCAF-DA38"
    mega = offers[("a2-megagpu-16g", "us-central1", "on_demand")]
    assert mega.price_per_hour == pytest.approx(
        96 * 0.031611 + 1360 * 0.004237 + 16 * 2.933908, abs=1e-9
    )
    # a2-ultragpu needs the A100 80GB SKU, which the recorded page does not have.
    assert not any(k[0].startswith("a2-ultragpu") for k in offers)
    # Machine families without GPUs (E2, T2D in the page) produce no rows.
    assert {k[0].split("-")[0] for k in offers} == {"nvidia", "a2"}


def test_constructed_rows_spot_commitment_a3_and_tpu():
    result = gcp.parse([_resp(RECORDED), _resp(CONSTRUCTED)])
    offers = _by_key(result.offers)
    assert result.warnings == [] and result.unknown == []

    assert offers[("nvidia-tesla-t4", "us-west1", "on_demand")].price_per_hour == 0.35
    assert offers[("nvidia-tesla-t4", "us-west1", "spot")].price_per_hour == 0.209
    assert offers[("nvidia-tesla-a100", "us-central1", "spot")].price_per_hour == 1.7603
    # The A4 B200 spot SKU carries usageType OnDemand; its description makes it spot.
    b200 = offers[("nvidia-b200", "us-central1", "spot")]
    assert b200.price_per_hour == 4.9542 and b200.gpu_model_hint == "B200"
    assert ("nvidia-b200", "us-central1", "on_demand") not in offers
    cud = offers[("nvidia-h200-141gb", "us-central1", "reserved_3y")]
    assert cud.price_per_hour == 5.0 and cud.term == "cud" and cud.gpu_name_raw == "H200 141GB"
    # The sole-tenancy T4 SKU is a premium variant, not the T4 list price.
    assert all(o.extra.get("sku_id") != "FIXT-0000-0003" for o in result.offers)

    a3 = offers[("a3-highgpu-8g", "us-central1", "on_demand")]
    assert a3.extra["price_exact"] == "100.455184"  # 208 x 0.03222 + 1872 x 0.002817 + 8 x 11.06
    assert a3.gpu_count == 8.0 and a3.gpu_model_hint == "H100"
    assert ("a3-highgpu-8g", "us-central1", "spot") not in offers  # no spot A3 SKUs given

    tpu_od = offers[("tpu-v6e", "us-east1", "on_demand")]
    tpu_spot = offers[("tpu-v6e", "us-east1", "spot")]
    assert (tpu_od.price_per_hour, tpu_spot.price_per_hour) == (2.7, 1.89)
    assert tpu_od.gpu_name_raw == "TPU v6e" and tpu_od.price_unit_published == "chip_hour"


def _sku(
    description: str, group: str, usage: str, tiers: list[dict], regions=("us-central1",)
) -> dict:
    base = json.loads(RECORDED.read_text())["skus"][0]  # the real SKU layout
    base = json.loads(json.dumps(base))
    base["skuId"] = "TEST-0000-0001"
    base["description"] = description
    base["category"]["resourceGroup"] = group
    base["category"]["usageType"] = usage
    base["serviceRegions"] = list(regions)
    base["pricingInfo"][0]["pricingExpression"]["tieredRates"] = tiers
    return base


def _page(*skus: dict) -> Response:
    return Response(url=URL, fetched_at=FETCHED_AT, body=json.dumps({"skus": list(skus)}).encode())


def test_tiered_rates_use_tier_from_zero_and_keep_others():
    tiers = [
        # proto3 JSON omits a zero startUsageAmount and zero units
        {"unitPrice": {"currencyCode": "USD", "nanos": 450000000}},
        {
            "startUsageAmount": 744,
            "unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 400000000},
        },
    ]
    result = gcp.parse([_page(_sku("Nvidia L4 GPU running in Iowa", "GPU", "OnDemand", tiers))])
    (offer,) = result.offers
    assert offer.instance_type == "nvidia-l4" and offer.price_per_hour == 0.45
    assert offer.extra["tiered_rates"] == [
        {"start_usage_amount": "0", "unit_price": "0.45"},
        {"start_usage_amount": "744", "unit_price": "0.4"},
    ]


def test_unknown_gpu_kept_and_reported_unknown_usage_counted():
    tier = [{"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": "9", "nanos": 0}}]
    result = gcp.parse(
        [
            _page(
                _sku("Nvidia Z900 GPU running in Americas", "GPU", "OnDemand", tier),
                _sku("Nvidia Tesla T4 GPU running in Americas", "GPU", "SomethingNew", tier),
            )
        ]
    )
    (offer,) = result.offers
    assert offer.instance_type == "nvidia-z900" and offer.gpu_name_raw == "Nvidia Z900"
    assert any("Nvidia Z900" in u for u in result.unknown)
    assert any("SomethingNew x1" in w for w in result.warnings)


def test_bad_single_sku_is_skipped_with_warning():
    good = [
        {
            "startUsageAmount": 0,
            "unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 350000000},
        }
    ]
    bad = [{"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": "x"}}]
    result = gcp.parse(
        [
            _page(
                _sku("Nvidia Tesla T4 GPU running in Americas", "GPU", "OnDemand", good),
                _sku("Nvidia Tesla P4 GPU running in Americas", "GPU", "OnDemand", bad),
            )
        ]
    )
    assert [o.instance_type for o in result.offers] == ["nvidia-tesla-t4"]
    assert len(result.warnings) == 1 and "unparseable unitPrice" in result.warnings[0]


def test_layout_changed_page_names_provider_source_and_field():
    with pytest.raises(ParseError) as err:
        gcp.parse([_resp(FIXTURES / "skus_layout_changed.json")])
    assert err.value.provider == "gcp" and err.value.field == "skus" and err.value.source == URL
    assert str(err.value).startswith("gcp: ")


def test_unparseable_price_fails_the_source():
    with pytest.raises(ParseError) as err:
        gcp.parse([_resp(FIXTURES / "skus_price_unparseable.json")])
    assert err.value.field == "skus[].pricingInfo[].pricingExpression.tieredRates[].unitPrice"
    assert "039F-D0DA-4055" in str(err.value)


def test_page_without_gpu_skus_fails():
    doc = json.loads(RECORDED.read_text())
    doc["skus"] = doc["skus"][1:]  # only CPU/RAM SKUs left
    with pytest.raises(ParseError) as err:
        gcp.parse([Response(url=URL, fetched_at=FETCHED_AT, body=json.dumps(doc).encode())])
    assert err.value.field == "skus[].category.resourceGroup"


def test_not_json_fails():
    with pytest.raises(ParseError) as err:
        gcp.parse([Response(url=URL, fetched_at=FETCHED_AT, body=b"<html>quota exceeded</html>")])
    assert err.value.field == "body"


def _run_fetch(settings: dict[str, str], base: str = "https://billing.test"):
    async def go():
        async with HttpClient(max_retries=0) as client:
            return await gcp.fetch(
                FetchContext(provider="gcp", client=client, base_url=base, settings=settings)
            )

    return asyncio.run(go())


def test_missing_key_skips_with_clear_message():
    with pytest.raises(SkipProvider, match="GOOGLE_API_KEY"):
        _run_fetch({})


@respx.mock
def test_fetch_follows_page_tokens_and_redacts_key():
    secret = "AIzaSyTESTKEY-1234567890"
    page1 = json.loads(RECORDED.read_text())  # ends with a real-looking nextPageToken
    token = page1["nextPageToken"]
    route = respx.get("https://billing.test/v1/services/6F81-5844-456A/skus").mock(
        side_effect=lambda request: httpx.Response(
            200,
            content=(
                CONSTRUCTED.read_bytes()
                if request.url.params.get("pageToken") == token
                else RECORDED.read_bytes()
            ),
        )
    )
    responses = _run_fetch({"GOOGLE_API_KEY": secret})
    assert route.call_count == 2
    assert route.calls[0].request.url.params["key"] == secret
    assert route.calls[1].request.url.params["pageToken"] == token
    assert len(responses) == 2 and all(secret not in r.url for r in responses)
    assert all("key=REDACTED" in r.url for r in responses)
    assert len(gcp.parse(responses).offers) > 30


@respx.mock
def test_fetch_stops_on_repeating_token():
    body = json.dumps({"skus": [], "nextPageToken": "same"}).encode()
    respx.get("https://billing.test/v1/services/6F81-5844-456A/skus").mock(
        return_value=httpx.Response(200, content=body)
    )
    with pytest.raises(Exception, match="nextPageToken"):
        _run_fetch({"GOOGLE_API_KEY": "AIzaSyTESTKEY-1234567890"})


def test_fetch_pages_from_a_local_server_through_the_base_url_override(provider_server):
    from urllib.parse import parse_qs, urlsplit

    token = json.loads(RECORDED.read_text())["nextPageToken"]

    def skus_page(h):
        query = parse_qs(urlsplit(h.path).query)
        page = CONSTRUCTED if query.get("pageToken") == [token] else RECORDED
        send(h, 200, page.read_bytes(), {"Content-Type": "application/json"})

    provider_server.route("/v1/services/6F81-5844-456A/skus", skus_page)
    responses = _run_fetch({"GOOGLE_API_KEY": "AIzaSyLOCALKEY-0000"}, base=provider_server.url)
    seen = [parse_qs(urlsplit(p).query) for p in provider_server.paths()]
    assert [q.get("pageToken") for q in seen] == [None, [token]]
    assert all(q["key"] == ["AIzaSyLOCALKEY-0000"] for q in seen)
    assert all("AIzaSyLOCALKEY" not in r.url for r in responses)
    offers = gcp.parse(responses).offers
    assert len(offers) > 30 and {o.source_url for o in offers} <= {r.url for r in responses}


def test_price_scope_gpu_skus_are_gpu_only_machines_are_instances():
    # Issue 12: GCP's per-GPU SKU rows (no VM) must never rank against whole machines.
    offers = gcp.parse([_resp(RECORDED), _resp(CONSTRUCTED)]).offers
    by_family: dict[str, set[str]] = {}
    for o in offers:
        family = o.instance_type.split("-")[0]
        by_family.setdefault(family, set()).add(o.price_scope)
    assert by_family["nvidia"] == {"gpu_only"}  # nvidia-tesla-a100 ...: the GPU SKU alone
    assert by_family["tpu"] == {"gpu_only"}  # one TPU chip
    assert by_family["a2"] == {"instance"} and by_family["a3"] == {"instance"}
    machine = next(o for o in offers if o.instance_type.startswith("a2-"))
    assert machine.vcpus and machine.memory_gb and machine.gpu_count >= 1
