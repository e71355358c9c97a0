"""Scaleway: parse the recorded Product Catalog page; page through a local HTTP server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers import scaleway
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "scaleway"
    / "product-catalog-v2alpha1_public-catalog-products_instance_fr-par-1_page1_2026-07-01_trimmed.json"
)
URL = (
    "https://api.scaleway.com/product-catalog/v2alpha1/public-catalog/products?page=1"
    "&product_types=instance&status=public_beta&status=preview&status=general_availability"
    "&status=end_of_new_features&zone=fr-par-1"
)
FETCHED_AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def _response(body: bytes | None = None) -> Response:
    return Response(url=URL, fetched_at=FETCHED_AT, body=body or FIXTURE.read_bytes())


def _products() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["products"]


def test_parse_fixture_gpu_rows_per_hour():
    result = scaleway.parse([_response()])
    rows = {o.instance_type: o for o in result.offers}
    assert sorted(rows) == ["L4-1-24G", "L4-2-24G", "L4-4-24G", "L4-8-24G", "RENDER-S"]
    l4x8 = rows["L4-8-24G"]
    # 0.105 EUR per minute (units 0, nanos 105000000) -> 6.30 EUR per hour
    assert Decimal(str(l4x8.price_per_hour)) == Decimal("6.3")
    assert l4x8.price_unit_published == "minute"
    assert l4x8.currency == "EUR"
    assert l4x8.gpu_count == 8.0
    assert l4x8.price_per_hour / l4x8.gpu_count == pytest.approx(0.7875)
    assert l4x8.gpu_name_raw == "L4"
    assert l4x8.gpu_memory_gb == 24.0
    assert l4x8.region == "fr-par" and l4x8.zone == "fr-par-1"
    assert l4x8.pricing_model == "on_demand"
    assert l4x8.vcpus == 64.0 and l4x8.memory_gb == 384.0
    assert l4x8.extra["price_published"] == "0.105"
    assert l4x8.observed_at == FETCHED_AT and l4x8.source_url == URL
    render = rows["RENDER-S"]
    assert render.price_per_hour == 1.221 and render.price_unit_published == "hour"
    assert render.gpu_name_raw == "P100" and render.gpu_count == 1.0
    assert render.gpu_memory_gb is None  # the name does not state it; the resolver knows P100
    assert result.warnings == []


# `hourly_price` of the same types in the Instance API responses recorded the same day
# (/work/shared/samples/scaleway/instance-v1_zones-fr-par-1_products-servers_page{1,2}_2026-07-01.json).
INSTANCE_API_HOURLY_EUR = {
    "L4-1-24G": 0.7875,
    "L4-2-24G": 1.575,
    "L4-4-24G": 3.15,
    "L4-8-24G": 6.3,
    "RENDER-S": 1.221,
}


def test_per_minute_prices_match_the_instance_api_hourly_prices():
    offers = scaleway.parse([_response()]).offers
    assert {o.instance_type: o.price_per_hour for o in offers} == INSTANCE_API_HOURLY_EUR


def test_unknown_unit_row_is_skipped_with_a_warning():
    products = _products()
    for p in products:
        if p["product"] == "L4-2-24G":
            p["unit_of_measure"]["unit"] = "fortnight"
    body = json.dumps({"products": products, "total_count": len(products)}).encode()
    result = scaleway.parse([_response(body)])
    assert "L4-2-24G" not in {o.instance_type for o in result.offers}
    assert len(result.offers) == 4
    assert any("L4-2-24G" in w and "fortnight" in w for w in result.warnings)


def test_layout_change_names_provider_source_and_field():
    products = _products()
    for p in products:
        p["pricing"] = p.pop("price")
    body = json.dumps({"products": products, "total_count": 7}).encode()
    with pytest.raises(ParseError) as exc:
        scaleway.parse([_response(body)])
    assert "scaleway" in str(exc.value) and URL in str(exc.value)
    assert exc.value.field == "price"

    with pytest.raises(ParseError) as exc:
        scaleway.parse([_response(b'{"items": [], "total_count": 0}')])
    assert exc.value.field == "products"


def test_no_gpu_product_is_a_source_failure():
    products = [p for p in _products() if "gpu" not in p["properties"]["hardware"]]
    body = json.dumps({"products": products, "total_count": len(products)}).encode()
    with pytest.raises(ParseError) as exc:
        scaleway.parse([_response(body)])
    assert exc.value.field == "properties.hardware.gpu"


CATALOG_PATH = "/product-catalog/v2alpha1/public-catalog/products"


def _paged_catalog(products: list[dict], per_page: int = 3):
    """An answer for ProviderServer: serves `products` per_page at a time, per zone."""

    def answer(handler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        page, zone = int(query["page"][0]), query["zone"][0]
        zoned = [dict(p, locality={"zone": zone}) for p in products]
        chunk = zoned[(page - 1) * per_page : page * per_page]
        body = json.dumps({"products": chunk, "total_count": len(zoned)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _fetch(base_url: str, settings: dict[str, str]) -> list[Response]:
    async def run():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="scaleway", client=client, base_url=base_url, settings=settings
            )
            return await scaleway.fetch(ctx)

    return asyncio.run(run())


def test_fetch_pages_until_total_count_for_each_zone(provider_server):
    provider_server.route(CATALOG_PATH, _paged_catalog(_products()))
    responses = _fetch(provider_server.url, {"SCALEWAY_ZONES": "fr-par-2, pl-waw-2"})
    queries = [parse_qs(urlsplit(r.path).query) for r in provider_server.requests]
    # 7 products, 3 per page -> 3 pages per zone, 2 zones
    assert len(responses) == 6
    assert [q["zone"][0] for q in queries] == ["fr-par-2"] * 3 + ["pl-waw-2"] * 3
    assert [q["page"][0] for q in queries] == ["1", "2", "3"] * 2
    assert queries[0]["product_types"] == ["instance"]
    assert "general_availability" in queries[0]["status"]
    result = scaleway.parse(responses)
    assert sorted({(o.region, o.zone) for o in result.offers}) == [
        ("fr-par", "fr-par-2"),
        ("pl-waw", "pl-waw-2"),
    ]
    assert len(result.offers) == 10


def test_fetch_stops_on_an_empty_page_and_fails_on_a_broken_page(provider_server):
    empty = json.dumps({"products": [], "total_count": 40}).encode()
    provider_server.route(CATALOG_PATH, (200, empty, {"Content-Type": "application/json"}))
    assert len(_fetch(provider_server.url, {"SCALEWAY_ZONES": "fr-par-2"})) == 1

    provider_server.route(CATALOG_PATH, (200, b'{"servers": {}}', {}))
    with pytest.raises(ParseError) as exc:
        _fetch(provider_server.url, {"SCALEWAY_ZONES": "fr-par-2"})
    assert exc.value.field == "total_count"


def test_default_zones_when_not_configured():
    assert scaleway.zones({}) == list(scaleway.DEFAULT_ZONES)
    assert scaleway.zones({"SCALEWAY_ZONES": "nl-ams-1"}) == ["nl-ams-1"]


def test_raw_gpu_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    models = {
        o.instance_type: resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="scaleway",
            instance_type=o.instance_type,
        ).gpu_model
        for o in scaleway.parse([_response()]).offers
    }
    assert models == {
        "L4-1-24G": "L4",
        "L4-2-24G": "L4",
        "L4-4-24G": "L4",
        "L4-8-24G": "L4",
        "RENDER-S": "P100",
    }
