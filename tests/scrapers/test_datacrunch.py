"""DataCrunch: parse the recorded API fixtures; fetch with OAuth through respx."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import datacrunch
from scrapers.base import FetchContext, ParseError, Response, SkipProvider
from scrapers.http import HttpClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datacrunch"
BASE = "https://api.datacrunch.io/v1"
FETCHED_AT = datetime(2025, 10, 2, 12, 0, tzinfo=UTC)

FILES = {
    "instance-types": ("instance-types_gpuhunt-fixture_2025-10.json", f"{BASE}/instance-types"),
    "availability-spot": (
        "instance-availability_is_spot-true_gpuhunt-fixture_2025-10.json",
        f"{BASE}/instance-availability?isSpot=true",
    ),
    "availability-on-demand": (
        "instance-availability_is_spot-false_constructed.json",
        f"{BASE}/instance-availability?isSpot=false",
    ),
    "locations": ("locations_gpuhunt-fixture_2025-10.json", f"{BASE}/locations"),
}


def _response(kind: str, body: bytes | None = None, with_kind: bool = True) -> Response:
    name, url = FILES[kind]
    return Response(
        url=url,
        fetched_at=FETCHED_AT,
        body=body if body is not None else (FIXTURES / name).read_bytes(),
        kind=kind if with_kind else "",
    )


def _all(with_kind: bool = True) -> list[Response]:
    return [_response(k, with_kind=with_kind) for k in FILES]


def _by_key(offers):
    return {(o.instance_type, o.pricing_model, o.region): o for o in offers}


def test_parse_fixtures_rows_per_location_and_model():
    result = datacrunch.parse(_all())
    rows = _by_key(result.offers)
    assert sorted(rows) == sorted(
        [
            ("1H100.80S.30V", "on_demand", "FIN-01"),
            ("1H100.80S.30V", "on_demand", "FIN-02"),
            ("2A6000.20V", "on_demand", "FIN-01"),
            ("2A6000.20V", "spot", "FIN-01"),
            ("1V100.6V", "on_demand", "global"),
            ("1V100.6V", "spot", "FIN-01"),
        ]
    )  # the CPU node (0 GPUs) is not a GPU offer
    a6000 = rows[("2A6000.20V", "on_demand", "FIN-01")]
    assert a6000.currency == "USD"
    assert a6000.price_per_hour == 1.98
    assert a6000.gpu_count == 2.0
    assert a6000.price_per_hour / a6000.gpu_count == pytest.approx(0.99)
    assert a6000.gpu_name_raw == "RTX A6000 48GB"
    assert a6000.gpu_memory_gb == 48.0  # 96 GB total over 2 GPUs
    assert a6000.vcpus == 20.0 and a6000.memory_gb == 120.0
    assert a6000.extra["country_code"] == "FI"
    assert a6000.observed_at == FETCHED_AT
    assert a6000.source_url == f"{BASE}/instance-types"
    assert rows[("2A6000.20V", "spot", "FIN-01")].price_per_hour == 0.70
    h100 = rows[("1H100.80S.30V", "on_demand", "FIN-02")]
    assert h100.gpu_name_raw == "H100 SXM5 80GB" and h100.gpu_memory_gb == 80.0
    assert h100.extra["available_locations"] == ["FIN-01", "FIN-02"]
    assert rows[("1V100.6V", "spot", "FIN-01")].gpu_name_raw == "Tesla V100 16GB"
    assert result.unknown == []
    assert result.warnings == [
        f"datacrunch: {BASE}/instance-types: 1H100.80S.30V: spot_price '1.70' not published: "
        "no spot availability list names the type"
    ]


def test_spot_rows_only_where_a_spot_list_names_the_type():
    # The H100 has a spot_price (1.70) but no spot availability list names it: DataCrunch
    # does not offer it as spot anywhere, so no spot row (issue 12: like with like).
    result = datacrunch.parse(_all())
    spot = {(o.instance_type, o.region) for o in result.offers if o.pricing_model == "spot"}
    assert spot == {("2A6000.20V", "FIN-01"), ("1V100.6V", "FIN-01")}
    listed = json.loads((FIXTURES / FILES["availability-spot"][0]).read_text())
    by_location = {e["location_code"]: set(e["availabilities"]) for e in listed}
    assert all(t in by_location[region] for t, region in spot)


def test_no_spot_availability_response_means_no_spot_rows():
    responses = [r for r in _all() if r.kind != "availability-spot"]
    result = datacrunch.parse(responses)
    assert result.offers and all(o.pricing_model == "on_demand" for o in result.offers)
    assert any("no spot availability response" in w for w in result.warnings)


def _saved(kind: str, name: str | None = None) -> Response:
    """A fixture as `scrape parse FILE` gives it: file:// URL, no kind label."""
    path = FIXTURES / (name or FILES[kind][0])
    return Response(url=path.as_uri(), fetched_at=FETCHED_AT, body=path.read_bytes())


def _plain(offers):
    return sorted(
        (o.instance_type, o.region, o.pricing_model, o.price_per_hour, tuple(sorted(o.extra)))
        for o in offers
    )


def test_saved_files_are_recognised_from_their_content():
    with_urls = datacrunch.parse(_all(with_kind=False))
    saved = datacrunch.parse([_saved(k) for k in FILES])
    assert _plain(saved.offers) == _plain(with_urls.offers)
    assert len(saved.offers) == 6


@pytest.mark.parametrize("kind", list(FILES))
def test_each_saved_file_parses_alone(kind):
    result = datacrunch.parse([_saved(kind)])
    if kind == "instance-types":
        assert {o.pricing_model for o in result.offers} == {"on_demand"}
        assert {o.region for o in result.offers} == {"global"}
    else:
        assert result.offers == []
        assert any("no instance-types response" in w for w in result.warnings)


def test_availability_that_does_not_say_spot_or_on_demand_is_not_used(tmp_path):
    body = (FIXTURES / FILES["availability-spot"][0]).read_bytes()
    unnamed = tmp_path / "availability.json"
    unnamed.write_bytes(body)
    result = datacrunch.parse(
        [_saved("instance-types"), Response(url=unnamed.as_uri(), fetched_at=FETCHED_AT, body=body)]
    )
    assert all(o.pricing_model == "on_demand" for o in result.offers)
    assert any("availability list not used" in w for w in result.warnings)


def test_unrecognised_body_names_the_source():
    with pytest.raises(ParseError) as exc:
        datacrunch.parse([Response(url="file:///x.json", fetched_at=FETCHED_AT, body=b"[1, 2]")])
    assert "file:///x.json" in str(exc.value) and exc.value.field == "body"


def test_kinds_are_recognised_from_the_url_when_replayed_without_kind():
    with_kind = _by_key(datacrunch.parse(_all()).offers)
    without_kind = _by_key(datacrunch.parse(_all(with_kind=False)).offers)
    assert sorted(with_kind) == sorted(without_kind)


def test_missing_on_demand_availability_gives_global_rows_and_a_warning():
    responses = [r for r in _all() if r.kind != "availability-on-demand"]
    result = datacrunch.parse(responses)
    on_demand = [o for o in result.offers if o.pricing_model == "on_demand"]
    assert {o.region for o in on_demand} == {"global"}
    assert len(on_demand) == 3
    assert any("on_demand availability" in w for w in result.warnings)


def test_bad_price_row_is_skipped_with_a_warning():
    items = json.loads((FIXTURES / FILES["instance-types"][0]).read_text())
    items[0]["price_per_hour"] = "n/a"
    responses = [_response("instance-types", json.dumps(items).encode())] + _all()[1:]
    result = datacrunch.parse(responses)
    assert not any(
        o.instance_type == "1H100.80S.30V" and o.pricing_model == "on_demand" for o in result.offers
    )
    assert any("1H100.80S.30V" in w and "price_per_hour" in w for w in result.warnings)


def test_layout_change_names_provider_source_and_field():
    items = json.loads((FIXTURES / FILES["instance-types"][0]).read_text())
    for item in items:
        item["hourly_price"] = item.pop("price_per_hour")
    with pytest.raises(ParseError) as exc:
        datacrunch.parse([_response("instance-types", json.dumps(items).encode())])
    message = str(exc.value)
    assert "datacrunch" in message and f"{BASE}/instance-types" in message
    assert exc.value.field == "price_per_hour"

    with pytest.raises(ParseError) as exc:
        datacrunch.parse([_response("instance-types", b'{"instance_types": []}')])
    assert exc.value.field == "instance-types"


def test_no_gpu_types_is_a_source_failure():
    items = json.loads((FIXTURES / FILES["instance-types"][0]).read_text())
    cpu_only = [i for i in items if i["gpu"]["number_of_gpus"] == 0]
    with pytest.raises(ParseError) as exc:
        datacrunch.parse([_response("instance-types", json.dumps(cpu_only).encode())])
    assert exc.value.field == "gpu.number_of_gpus"


def test_missing_instance_types_response_gives_no_rows_but_checks_the_others():
    result = datacrunch.parse([_response("locations")])
    assert result.offers == [] and any("no instance-types" in w for w in result.warnings)
    with pytest.raises(ParseError) as exc:
        datacrunch.parse([_response("availability-spot", b'[{"location_code": "FIN-01"}]')])
    assert exc.value.field == "availabilities"
    with pytest.raises(ParseError):
        datacrunch.parse([])


def _ctx(client: HttpClient, settings: dict[str, str]) -> FetchContext:
    return FetchContext(provider="datacrunch", client=client, base_url=BASE, settings=settings)


def test_fetch_without_credentials_skips():
    async def run():
        async with HttpClient(max_retries=0) as client:
            await datacrunch.fetch(_ctx(client, {}))

    with pytest.raises(SkipProvider, match="DATACRUNCH_CLIENT_ID"):
        asyncio.run(run())


@respx.mock
def test_fetch_gets_a_token_then_the_three_endpoints():
    token = respx.post(f"{BASE}/oauth2/token").mock(
        return_value=httpx.Response(200, json={"access_token": "tok-abcdef123", "expires_in": 3600})
    )
    bodies = {k: (FIXTURES / name).read_bytes() for k, (name, _) in FILES.items()}
    types = respx.get(f"{BASE}/instance-types").mock(
        return_value=httpx.Response(200, content=bodies["instance-types"])
    )
    spot = respx.get(f"{BASE}/instance-availability", params={"isSpot": "true"}).mock(
        return_value=httpx.Response(200, content=bodies["availability-spot"])
    )
    on_demand = respx.get(f"{BASE}/instance-availability", params={"isSpot": "false"}).mock(
        return_value=httpx.Response(200, content=bodies["availability-on-demand"])
    )
    respx.get(f"{BASE}/locations").mock(
        return_value=httpx.Response(200, content=bodies["locations"])
    )

    async def run():
        async with HttpClient(max_retries=0) as client:
            return await datacrunch.fetch(
                _ctx(
                    client,
                    {"DATACRUNCH_CLIENT_ID": "cid-12345", "DATACRUNCH_CLIENT_SECRET": "sec-67890"},
                )
            )

    responses = asyncio.run(run())
    assert json.loads(token.calls.last.request.content) == {
        "grant_type": "client_credentials",
        "client_id": "cid-12345",
        "client_secret": "sec-67890",
    }
    assert types.calls.last.request.headers["Authorization"] == "Bearer tok-abcdef123"
    assert spot.called and on_demand.called
    # The token response is not returned, so it can never be archived.
    assert [r.kind for r in responses] == [
        "instance-types",
        "availability-spot",
        "availability-on-demand",
        "locations",
    ]
    for r in responses:
        assert "tok-abcdef123" not in r.url and b"tok-abcdef123" not in r.read()
    assert (
        len(datacrunch.parse(responses).offers) == 6
    )  # H100 has a spot price but no spot capacity listed


def test_raw_gpu_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    models = {
        o.instance_type: resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="datacrunch",
            instance_type=o.instance_type,
        ).gpu_model
        for o in datacrunch.parse(_all()).offers
    }
    assert models == {"1H100.80S.30V": "H100", "2A6000.20V": "RTX A6000", "1V100.6V": "V100"}


def test_scrape_parse_on_the_saved_recordings_without_urls():
    # What a user runs on the three recorded files (no on-demand availability recording):
    # kinds from content, spot only where the spot list names the type.
    from typer.testing import CliRunner

    from pipelines.cli.main import app

    files = [
        str(FIXTURES / FILES[k][0]) for k in ("instance-types", "availability-spot", "locations")
    ]
    out = CliRunner().invoke(
        app,
        [
            "parse",
            "datacrunch",
            *files,
            "--format",
            "jsonl",
            "--no-fx",
            "--observed-at",
            "2025-10-02T12:00:00Z",
        ],
    )
    assert out.exit_code == 0, out.stderr
    rows = {
        (r["instance_type"], r["pricing_model"], r["region"])
        for r in map(json.loads, out.stdout.splitlines())
    }
    assert rows == {
        ("1H100.80S.30V", "on_demand", "global"),
        ("2A6000.20V", "on_demand", "global"),
        ("1V100.6V", "on_demand", "global"),
        ("2A6000.20V", "spot", "FIN-01"),
        ("1V100.6V", "spot", "FIN-01"),
    }
    for f in files:
        alone = CliRunner().invoke(app, ["parse", "datacrunch", f, "--no-fx"])
        assert alone.exit_code == 0, (f, alone.stderr)
