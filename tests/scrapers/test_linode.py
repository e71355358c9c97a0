"""Linode: fixture parsing (GPU types only, default + per-region prices), layout-change
errors and page/pages paging against a local HTTP server."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers import linode
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "linode"
    / "linode-api-v4beta_linode-types_page1_2024-07_excerpt.json"
)
URL = "https://api.linode.com/v4beta/linode/types?page=1"
FETCHED_AT = datetime(2024, 7, 11, 18, 32, tzinfo=UTC)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def test_parse_fixture_rows():
    result = linode.parse([Response(url=URL, fetched_at=FETCHED_AT, body=FIXTURE.read_bytes())])
    assert result.warnings == [] and result.unknown == []
    offers = {o.instance_type: o for o in result.offers}
    assert sorted(offers) == [f"g1-gpu-rtx6000-{n}" for n in (1, 2, 3, 4)]  # CPU types dropped
    for n, o in ((int(k[-1]), o) for k, o in offers.items()):
        assert o.gpu_count == n
        assert o.price_per_hour / o.gpu_count == pytest.approx(1.5)  # per GPU-hour, every size
        assert o.region == "global" and o.extra["price_scope"] == "default"
        assert o.gpu_name_raw == "RTX6000" and o.gpu_model_hint == "Quadro RTX 6000"
        assert o.gpu_memory_gb == 24.0
        assert o.currency == "USD" and o.pricing_model == "on_demand"
        assert o.observed_at == FETCHED_AT and o.source_url == URL
    assert offers["g1-gpu-rtx6000-2"].memory_gb == 64.0 and offers["g1-gpu-rtx6000-2"].vcpus == 16.0
    assert offers["g1-gpu-rtx6000-4"].extra["monthly_cap"] == 4000.0


def test_region_prices_become_regional_offers():
    doc = _doc()
    gpu = next(t for t in doc["data"] if t["id"] == "g1-gpu-rtx6000-1")
    gpu["region_prices"] = [{"id": "id-cgk", "hourly": 1.8, "monthly": 1200.0}]
    result = linode.parse([_resp(doc)])
    rows = {o.region: o for o in result.offers if o.instance_type == "g1-gpu-rtx6000-1"}
    assert set(rows) == {"global", "id-cgk"}
    assert rows["id-cgk"].price_per_hour == pytest.approx(1.8)
    assert rows["id-cgk"].extra["price_scope"] == "region_override"
    assert rows["global"].price_per_hour == pytest.approx(1.5)


def test_unknown_gpu_type_kept_and_reported():
    doc = _doc()
    new = copy.deepcopy(doc["data"][-1])
    new.update(id="g3-gpu-x9-1", label="Dedicated 64GB + X9 GPU x1", gpus=1)
    doc["data"].append(new)
    result = linode.parse([_resp(doc)])
    row = next(o for o in result.offers if o.instance_type == "g3-gpu-x9-1")
    assert row.gpu_name_raw == "X9" and row.gpu_model_hint is None
    assert any("g3-gpu-x9-1" in u for u in result.unknown)


def test_bad_price_row_skipped_but_all_bad_is_a_layout_error():
    doc = _doc()
    doc["data"][2]["price"]["hourly"] = "call us"
    result = linode.parse([_resp(doc)])
    assert len(result.offers) == 3 and len(result.warnings) == 1
    assert "price.hourly" in result.warnings[0]

    for t in doc["data"]:
        t["price"] = {"per_hour": 1}
    with pytest.raises(ParseError) as err:
        linode.parse([_resp(doc)])
    msg = str(err.value)
    assert msg.startswith("linode:") and URL in msg and "price.hourly" in msg


def test_layout_change_raises_parse_error():
    with pytest.raises(ParseError, match="'data'"):
        linode.parse([_resp({"types": []})])
    doc = _doc()
    for t in doc["data"]:
        del t["gpus"]
    with pytest.raises(ParseError, match="'gpus'"):
        linode.parse([_resp(doc)])
    with pytest.raises(ParseError, match="body"):
        linode.parse([_resp(b"not json")])


def test_fetch_walks_all_pages_on_a_local_server(provider_server):
    doc = _doc()
    page1 = dict(doc, data=doc["data"][:3], page=1, pages=2, results=6)
    page2 = dict(doc, data=doc["data"][3:], page=2, pages=2, results=6)
    json_ct = {"Content-Type": "application/json"}
    provider_server.route(
        "/v4/linode/types",
        (200, json.dumps(page1).encode(), json_ct),
        (200, json.dumps(page2).encode(), json_ct),
    )

    async def run():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="linode", client=client, base_url=provider_server.url + "/v4"
            )
            return await linode.fetch(ctx)

    responses = asyncio.run(run())
    queries = [parse_qs(urlsplit(r.path).query) for r in provider_server.requests]
    assert [q["page"] for q in queries] == [["1"], ["2"]]
    assert all(q["page_size"] == ["500"] for q in queries)
    result = linode.parse(responses)
    assert sorted(o.instance_type for o in result.offers) == [
        f"g1-gpu-rtx6000-{n}" for n in (1, 2, 3, 4)
    ]


def test_raw_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    for o in linode.parse([_resp(_doc())]).offers:
        r = resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="linode",
            instance_type=o.instance_type,
            hint=o.gpu_model_hint,
        )
        assert (r.gpu_model, r.gpu_memory_gb) == ("Quadro RTX 6000", 24.0)
