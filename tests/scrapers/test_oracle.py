"""Oracle: GPU-hour products -> whole-shape prices, derived preemptible offers, unknown GPU
products, layout-change errors and (ORDS-style) paging on a local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import oracle
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "oracle"
    / "oracle-cetools-products_currencyCode-USD_2024-01_excerpt.json"
)
URL = "https://apexapps.oracle.com/pls/apex/cetools/api/v1/products?currencyCode=USD"
FETCHED_AT = datetime(2024, 1, 19, tzinfo=UTC)


def _resp(body: bytes | dict) -> Response:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def test_parse_fixture_rows():
    result = oracle.parse([_resp(FIXTURE.read_bytes())])
    assert result.unknown == [] and result.warnings == []
    offers = {(o.instance_type, o.pricing_model): o for o in result.offers}

    a100 = offers[("BM.GPU.A100-v2.8", "on_demand")]
    assert a100.gpu_count == 8 and a100.gpu_memory_gb == 80 and a100.gpu_model_hint == "A100"
    assert a100.price_per_hour == pytest.approx(32.0)  # 8 x 4.00 USD per GPU-hour
    assert a100.price_per_hour / a100.gpu_count == pytest.approx(4.0)
    assert a100.price_unit_published == "gpu_hour" and a100.currency == "USD"
    assert a100.region == "global" and a100.extra["part_number"] == "B95907"
    assert a100.observed_at == FETCHED_AT and a100.source_url == URL

    assert offers[("BM.GPU.H100.8", "on_demand")].price_per_hour == pytest.approx(80.0)
    assert offers[("BM.GPU4.8", "on_demand")].gpu_memory_gb == 40
    assert offers[("BM.GPU4.8", "on_demand")].price_per_hour == pytest.approx(8 * 3.05)
    a10 = offers[("VM.GPU.A10.1", "on_demand")]
    assert a10.price_per_hour == pytest.approx(2.0)
    assert a10.extra["product"] == "Compute - GPU - A10"  # double space in the source collapsed
    assert offers[("BM.GPU.A10.4", "on_demand")].price_per_hour == pytest.approx(8.0)
    assert offers[("VM.GPU3.4", "on_demand")].price_per_hour == pytest.approx(4 * 2.95)
    assert offers[("BM.GPU2.2", "on_demand")].price_per_hour == pytest.approx(2 * 1.275)


def test_preemptible_only_for_vm_shapes_and_marked_derived():
    result = oracle.parse([_resp(FIXTURE.read_bytes())])
    spot = {o.instance_type: o for o in result.offers if o.pricing_model == "spot"}
    assert set(spot) == {
        "VM.GPU2.1",
        "VM.GPU3.1",
        "VM.GPU3.2",
        "VM.GPU3.4",
        "VM.GPU.A10.1",
        "VM.GPU.A10.2",
    }
    assert spot["VM.GPU.A10.1"].price_per_hour == pytest.approx(1.0)
    assert spot["VM.GPU.A10.1"].extra["derived"] is True
    assert spot["VM.GPU.A10.1"].extra["derivation_source"].startswith("https://")


def test_unmapped_gpu_product_is_kept_per_gpu_and_reported():
    doc = _doc()
    doc["items"].append(
        {
            "partNumber": "B99999",
            "displayName": "Compute - GPU - Z1",
            "metricName": "GPU Per Hour",
            "serviceCategory": "Compute - GPU",
            "currencyCodeLocalizations": [
                {"currencyCode": "USD", "prices": [{"model": "PAY_AS_YOU_GO", "value": 7.5}]}
            ],
        }
    )
    result = oracle.parse([_resp(doc)])
    row = next(o for o in result.offers if o.instance_type == "B99999")
    assert row.gpu_count == 1 and row.price_per_hour == pytest.approx(7.5)
    assert row.gpu_name_raw == "Compute - GPU - Z1" and row.extra["per_gpu_product"] is True
    assert any("B99999" in u for u in result.unknown)


def test_withdrawn_part_is_a_warning():
    doc = _doc()
    doc["items"] = [i for i in doc["items"] if i["partNumber"] != "B98415"]
    result = oracle.parse([_resp(doc)])
    assert not any(o.instance_type == "BM.GPU.H100.8" for o in result.offers)
    assert any("B98415" in w and "BM.GPU.H100.8" in w for w in result.warnings)


def test_bad_price_skips_row_and_all_bad_is_a_layout_error():
    doc = _doc()
    gpu_items = [i for i in doc["items"] if i["metricName"] == "GPU Per Hour"]
    gpu_items[0]["currencyCodeLocalizations"][0]["prices"][0]["value"] = "TBD"
    result = oracle.parse([_resp(doc)])
    assert any(gpu_items[0]["partNumber"] in w for w in result.warnings)
    assert result.offers

    for item in gpu_items:
        item["currencyCodeLocalizations"][0]["prices"][0]["value"] = "TBD"
    with pytest.raises(ParseError) as err:
        oracle.parse([_resp(doc)])
    msg = str(err.value)
    assert msg.startswith("oracle:") and "cetools" in msg and "prices[].value" in msg


def test_layout_change_raises_parse_error():
    with pytest.raises(ParseError, match="'items'"):
        oracle.parse([_resp({"products": []})])
    doc = _doc()
    for item in doc["items"]:
        item["metricName"] = item["metricName"].replace("GPU Per Hour", "GPU Hour")
    with pytest.raises(ParseError, match="metricName"):
        oracle.parse([_resp(doc)])
    with pytest.raises(ParseError, match="body"):
        oracle.parse([_resp(b"<html/>")])


def _fetch(base: str):
    async def run():
        async with HttpClient(max_retries=0) as client:
            return await oracle.fetch(FetchContext(provider="oracle", client=client, base_url=base))

    return asyncio.run(run())


def test_fetch_single_body_as_recorded(provider_server):
    provider_server.route("/cetools/api/v1/products", (200, FIXTURE.read_bytes(), {}))
    responses = _fetch(provider_server.url + "/cetools/api/v1")
    assert [r.path for r in provider_server.requests] == [
        "/cetools/api/v1/products?currencyCode=USD"
    ]
    assert len(oracle.parse(responses).offers) == 18


def test_fetch_follows_ords_next_link(provider_server):
    base = provider_server.url + "/cetools/api/v1"
    doc = _doc()
    next_href = f"{base}/products?currencyCode=USD&offset=5"
    page1 = {
        "items": doc["items"][:5],
        "hasMore": True,
        "links": [{"rel": "self", "href": "x"}, {"rel": "next", "href": next_href}],
    }
    page2 = {"items": doc["items"][5:], "hasMore": False}
    provider_server.route(
        "/cetools/api/v1/products",
        (200, json.dumps(page1).encode(), {}),
        (200, json.dumps(page2).encode(), {}),
    )
    responses = _fetch(base)
    assert [r.path for r in provider_server.requests] == [
        "/cetools/api/v1/products?currencyCode=USD",
        "/cetools/api/v1/products?currencyCode=USD&offset=5",
    ]
    assert len(oracle.parse(responses).offers) == 18


def test_raw_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    for o in oracle.parse([_resp(FIXTURE.read_bytes())]).offers:
        r = resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="oracle",
            instance_type=o.instance_type,
            hint=o.gpu_model_hint,
        )
        assert (r.gpu_model, r.gpu_memory_gb) == (o.gpu_model_hint, o.gpu_memory_gb), (
            o.instance_type
        )
