"""AWS EC2: offer files, GetProducts items, spot feeds, and the fetch path over a local server."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import importlib.util
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers import _toolkit as tk
from scrapers import aws
from scrapers.aws import offer_file, offers
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.server import ProviderServer, conditional

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
OFFER_FILE = FIXTURES / "offer-file_us-east-1_2024-05-28_p4d-excerpt.json"
P4D_RESERVED = FIXTURES / "get-products_item_p4d.24xlarge_us-east-1_reserved_constructed.json"
M5_ITEM = FIXTURES / "get-products_item_m5.large_us-east-1_2021-02-05.json"
REGION_INDEX = FIXTURES / "region_index_2025-05-23.json"
OFFER_INDEX = FIXTURES / "offer-index_documented.json"
SPOT_2026 = FIXTURES / "spot.json_2026-08_af-south-1_excerpt.json"
SPOT_2021 = FIXTURES / "spot.js-body_2021-04_5regions_gpu.json"
SPOT_2014 = FIXTURES / "spot.js_2014-04.js"
FETCHED_AT = datetime(2024, 5, 28, 20, 35, 22, tzinfo=UTC)
US_EAST_1_VERSION_PATH = "/offers/v1.0/aws/AmazonEC2/20250523232744/us-east-1/index.json"
P4D_SKU = "H7NGEAC6UEHNTKSJ"


def response(path: Path, url: str | None = None, **kw) -> Response:
    return Response(
        url=url or f"file://{path.name}", fetched_at=FETCHED_AT, body=path.read_bytes(), **kw
    )


def file_response(path: Path, gzip_body: bool = False) -> Response:
    return Response(
        url=f"file://{path.name}", fetched_at=FETCHED_AT, body_path=path, body_path_gzip=gzip_body
    )


def by_key(offers):
    return {(o.instance_type, o.region, o.pricing_model, o.term): o for o in offers}


# --------------------------------------------------------------------------- offer file


def test_p4d_on_demand_at_recorded_price_and_capacity_block_excluded():
    result = aws.parse([response(OFFER_FILE)])
    assert len(result.offers) == 1
    (offer,) = result.offers
    assert (offer.instance_type, offer.region, offer.pricing_model) == (
        "p4d.24xlarge",
        "us-east-1",
        "on_demand",
    )
    assert offer.price_per_hour == 32.7726
    assert offer.gpu_count == 8
    assert offer.price_per_hour / offer.gpu_count == pytest.approx(4.096575)
    assert offer.gpu_model_hint == "A100" and offer.gpu_memory_gb == 40
    assert offer.gpu_name_raw == "NVIDIA A100 Tensor Core 40GB"
    assert offer.vcpus == 96 and offer.memory_gb == 1152
    assert offer.currency == "USD" and offer.observed_at == FETCHED_AT
    assert offer.extra["sku"] == P4D_SKU and offer.extra["offer_version"] == "20240528203522"
    assert offer.snapshot_sha256 == hashlib.sha256(OFFER_FILE.read_bytes()).hexdigest()
    # the $0.00 Capacity Block product is counted, not priced
    assert any("Capacity Block" in w for w in result.warnings)
    assert result.unknown == []


def test_offer_file_from_gzip_body_path(tmp_path):
    gz = tmp_path / "offer.json.gz"
    gz.write_bytes(gzip.compress(OFFER_FILE.read_bytes()))
    (offer,) = aws.parse([file_response(gz, gzip_body=True)]).offers
    assert offer.price_per_hour == 32.7726


def _offer_file_with_reserved() -> dict:
    """The recorded offer file plus a Reserved section built from the constructed item."""
    doc = json.loads(OFFER_FILE.read_text())
    item = json.loads(P4D_RESERVED.read_text())
    attributes_list = doc.pop("attributesList")
    doc["terms"]["Reserved"] = {P4D_SKU: item["terms"]["Reserved"]}
    doc["attributesList"] = attributes_list
    return doc


def _write(doc: dict, path: Path) -> Path:
    # the live files' formatting: 2-space indent, `"key" : value`
    path.write_text(json.dumps(doc, indent=2, separators=(",", " : ")))
    return path


def test_offer_file_reserved_terms_amortized(tmp_path):
    path = _write(_offer_file_with_reserved(), tmp_path / "offer.json")
    offers = by_key(aws.parse([file_response(path)]).offers)
    one = offers[("p4d.24xlarge", "us-east-1", "reserved_1y", "standard/no_upfront")]
    three = offers[("p4d.24xlarge", "us-east-1", "reserved_3y", "standard/all_upfront")]
    assert one.price_per_hour == pytest.approx(19.22)
    assert one.upfront_fee == 0
    assert three.price_per_hour == pytest.approx(11.57, abs=0.005)
    assert three.upfront_fee == 304060
    assert three.extra["recurring_per_hour"] == 0
    assert three.extra["lease_contract_length"] == "3yr"
    assert three.extra["purchase_option"] == "All Upfront"
    assert three.gpu_count == 8
    assert offers[("p4d.24xlarge", "us-east-1", "on_demand", None)].price_per_hour == 32.7726


def _offer_rows(result):
    return sorted(
        (o.instance_type, o.pricing_model, o.term or "", o.price_per_hour) for o in result.offers
    )


def test_fast_scan_matches_ijson_scan(tmp_path):
    path = _write(_offer_file_with_reserved(), tmp_path / "offer.json")
    r = file_response(path)
    fast, slow = offers.context(r), offers.context(r)
    a = offer_file._scan_offer_file(r, fast)
    b = offer_file._scan_offer_file_ijson(r, slow)
    assert a.products.keys() == b.products.keys() == {P4D_SKU}
    assert a.on_demand == b.on_demand and a.reserved == b.reserved
    assert (fast.offer_version, fast.publication_date) == (
        slow.offer_version,
        slow.publication_date,
    )


def _load_bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_aws_pricelist.py"
    spec = importlib.util.spec_from_file_location("bench_aws_pricelist", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fast_scan_across_small_windows_matches_ijson(tmp_path, monkeypatch):
    # a generated multi-MB file (real layout, many SKUs, 12 reserved terms each) scanned
    # with tiny windows, so products and term blocks straddle window ends
    bench = _load_bench()
    monkeypatch.setattr(bench, "OFFER_SAMPLE", OFFER_FILE)
    monkeypatch.setattr(bench, "RESERVED_SAMPLE", M5_ITEM)
    path = tmp_path / "offer.json"
    bench.generate(path, 1.5, gpu_every=7)
    monkeypatch.setattr(offer_file, "_WINDOW_CHARS", 40_000)
    monkeypatch.setattr(offer_file, "_ITEM_MARGIN_CHARS", 3_000)
    monkeypatch.setattr(offer_file, "_BACK_CHARS", 4_000)
    r = file_response(path)
    fast = offer_file._scan_offer_file(r, offers.context(r))
    slow = offer_file._scan_offer_file_ijson(r, offers.context(r))
    assert len(fast.products) >= 5
    assert fast.products == slow.products
    assert fast.on_demand == slow.on_demand and fast.reserved == slow.reserved
    assert all(len(terms) == 12 for terms in fast.reserved.values())


def test_member_order_inside_products_does_not_matter(tmp_path):
    # attributes before sku in every product (a serializer that sorts keys): the fast scan
    # finds each product from its accelerator marker all the same
    doc = _offer_file_with_reserved()
    doc["products"] = {
        k: {"attributes": v["attributes"], "productFamily": v["productFamily"], "sku": v["sku"]}
        for k, v in doc["products"].items()
    }
    path = _write(doc, tmp_path / "offer.json")
    result = aws.parse([file_response(path)])
    assert not any("used ijson" in w for w in result.warnings)
    assert len(result.offers) == 3


def test_unexpected_layout_falls_back_to_ijson(tmp_path):
    # terms without their "sku" member: the fast scan cannot find the kept SKUs' terms
    # and must hand over to the ijson path, not drop rows
    doc = _offer_file_with_reserved()
    for section in doc["terms"].values():
        for block in section.values():
            for term in block.values():
                del term["sku"]
    path = _write(doc, tmp_path / "offer.json")
    result = aws.parse([file_response(path)])
    assert any("used ijson" in w for w in result.warnings)
    assert len(result.offers) == 3


def test_unknown_accelerator_family_is_reported_not_dropped(tmp_path):
    doc = json.loads(OFFER_FILE.read_text())
    attrs = doc["products"][P4D_SKU]["attributes"]
    attrs["instanceType"] = "p9z.48xlarge"
    path = _write(doc, tmp_path / "offer.json")
    result = aws.parse([file_response(path)])
    (offer,) = result.offers
    assert offer.instance_type == "p9z.48xlarge" and offer.gpu_count == 8
    assert offer.gpu_model_hint is None
    assert any("'p9z'" in u for u in result.unknown)


def test_fractional_gpu_stays_fractional(tmp_path):
    doc = json.loads(OFFER_FILE.read_text())
    attrs = doc["products"][P4D_SKU]["attributes"]
    attrs.update(instanceType="g6f.large", gpu="1", vcpu="2", memory="8 GiB")
    path = _write(doc, tmp_path / "offer.json")
    result = aws.parse([file_response(path)])
    (offer,) = result.offers
    assert offer.gpu_count == 0.125 and offer.gpu_memory_gb == 3
    assert offer.gpu_model_hint == "L4"
    assert offer.price_per_hour / offer.gpu_count == pytest.approx(32.7726 * 8)
    assert any("differs" in w for w in result.warnings)


def test_non_linux_or_dedicated_products_are_not_priced(tmp_path):
    doc = json.loads(OFFER_FILE.read_text())
    doc["products"][P4D_SKU]["attributes"]["tenancy"] = "Dedicated"
    path = _write(doc, tmp_path / "offer.json")
    assert aws.parse([file_response(path)]).offers == []


def test_truncated_offer_file_fails_loudly(tmp_path):
    path = tmp_path / "offer.json"
    path.write_bytes(OFFER_FILE.read_bytes()[:2500])
    with pytest.raises(ParseError, match="aws"):
        aws.parse([file_response(path)])


# --------------------------------------------------------------------------- GetProducts


def test_get_products_item_reserved_and_on_demand():
    offers = by_key(aws.parse([response(P4D_RESERVED)]).offers)
    assert set(offers) == {
        ("p4d.24xlarge", "us-east-1", "on_demand", None),
        ("p4d.24xlarge", "us-east-1", "reserved_1y", "standard/no_upfront"),
        ("p4d.24xlarge", "us-east-1", "reserved_3y", "standard/all_upfront"),
    }


def test_reserved_amortization_on_real_m5_terms():
    # real published m5.large terms (non-GPU, so parse ignores them): check the arithmetic
    item = json.loads(M5_ITEM.read_text())
    got = {}
    for term in item["terms"]["Reserved"].values():
        ta = term["termAttributes"]
        hourly, upfront, _ = offers.hourly_usd(term)
        years = offers.LEASE_YEARS[ta["LeaseContractLength"]]
        got[(ta["LeaseContractLength"], ta["OfferingClass"], ta["PurchaseOption"])] = (
            hourly + upfront / (tk.HOURS_PER_YEAR * years)
        )
    assert got[("1yr", "convertible", "Partial Upfront")] == Decimal("0.034") + Decimal(294) / 8760
    assert got[("3yr", "standard", "All Upfront")] == Decimal(949) / 26280
    assert got[("1yr", "standard", "No Upfront")] == Decimal("0.06")
    assert len(got) == 12


# --------------------------------------------------------------------------- spot


def test_spot_2026_json_with_scientific_notation_and_na():
    result = aws.parse([response(SPOT_2026)])
    offers = by_key(result.offers)
    assert {k[0] for k in offers} == {
        "g4dn.xlarge",
        "g4dn.2xlarge",
        "g4dn.4xlarge",
        "g4dn.8xlarge",
        "g4dn.12xlarge",
        "g4dn.16xlarge",
        "g4dn.metal",
        "inf1.24xlarge",
    }
    o = offers[("g4dn.12xlarge", "af-south-1", "spot", None)]
    assert o.price_per_hour == 0.9625 and o.gpu_count == 4 and o.gpu_model_hint == "T4"
    assert o.gpu_memory_gb == 16
    inf = offers[("inf1.24xlarge", "af-south-1", "spot", None)]
    assert inf.gpu_model_hint == "Inferentia" and inf.gpu_count == 16
    # the non-GPU t3.nano "9.0E-4" row is not an accelerator: nothing parsed from it
    assert tk.to_decimal("9.0E-4") == Decimal("0.0009")


def test_spot_price_in_scientific_notation(tmp_path):
    # the 2026 feed writes small prices like "9.0E-4" (t3.nano); the same for a GPU size
    doc = json.loads(SPOT_2026.read_text())
    gpu_group = next(
        g for g in doc["config"]["regions"][0]["instanceTypes"] if g["type"] == "gpuCurrentGen"
    )
    gpu_group["sizes"][0]["valueColumns"][0]["prices"]["USD"] = "9.0E-4"
    path = tmp_path / "spot.json"
    path.write_text(json.dumps(doc))
    offers = by_key(aws.parse([file_response(path)]).offers)
    size = gpu_group["sizes"][0]["size"]
    assert offers[(size, "af-south-1", "spot", None)].price_per_hour == 0.0009


def test_spot_2021_legacy_region_names_mapped():
    result = aws.parse([response(SPOT_2021)])
    regions = {o.region for o in result.offers}
    assert regions == {"us-east-1", "us-east-2", "us-west-1", "eu-west-1", "ap-southeast-2"}
    offers = by_key(result.offers)
    p3 = offers[("p3.2xlarge", "us-east-1", "spot", None)]
    assert p3.price_per_hour == 0.918 and p3.gpu_model_hint == "V100" and p3.gpu_count == 1
    assert p3.extra["spot_region_name"] == "us-east"
    p2 = offers[("p2.16xlarge", "eu-west-1", "spot", None)]
    assert p2.gpu_count == 16 and p2.price_per_hour / p2.gpu_count == pytest.approx(0.2916)
    assert offers[("p4d.24xlarge", "us-east-1", "spot", None)].price_per_hour == 9.8318
    # "N/A*" rows are counted, not priced
    assert ("p4d.24xlarge", "us-west-1", "spot", None) not in offers
    assert any("N/A*" in w for w in result.warnings)
    assert result.unknown == []


def test_spot_2014_jsonp():
    result = aws.parse([response(SPOT_2014)])
    offers = by_key(result.offers)
    g2 = offers[("g2.2xlarge", "us-east-1", "spot", None)]
    assert g2.price_per_hour == 0.0666 and g2.gpu_model_hint == "K520"
    assert offers[("cg1.4xlarge", "eu-west-1", "spot", None)].price_per_hour == 2.36
    assert ("g2.2xlarge", "ap-northeast-1", "spot", None) in offers
    assert {o.region for o in result.offers} <= {
        "us-east-1",
        "us-west-2",
        "us-west-1",
        "eu-west-1",
        "ap-southeast-1",
        "ap-northeast-1",
        "ap-southeast-2",
        "sa-east-1",
    }


def test_detect_kind_by_content():
    assert aws.detect_kind(response(OFFER_FILE)) == "offer-file"
    assert aws.detect_kind(response(REGION_INDEX)) == "region-index"
    assert aws.detect_kind(response(OFFER_INDEX)) == "offer-index"
    assert aws.detect_kind(response(SPOT_2014)) == "spot-feed"
    assert aws.detect_kind(response(SPOT_2026)) == "spot-feed"
    assert aws.detect_kind(response(P4D_RESERVED)) == "get-products"
    assert aws.parse([response(REGION_INDEX), response(OFFER_INDEX)]).offers == []
    with pytest.raises(ParseError, match="aws"):
        aws.parse([Response(url="x", fetched_at=FETCHED_AT, body=b'{"hello": 1}')])


def test_reference_data_tables():
    fams = aws.families()
    assert fams["p2"].gpu_model_hint == "K80" and fams["p3dn"].gpu_memory_gb == 32
    assert fams["p4de"].gpu_memory_gb == 80 and fams["p5en"].gpu_model_hint == "H200"
    assert aws.sizes()["g6f.large"].gpu_count == 0.125  # fractional stays fractional
    assert aws.spot_regions()["apac-sin"] == "ap-southeast-1"
    for name in ("aws_instance_families.csv", "aws_instance_sizes.csv", "aws_spot_regions.csv"):
        text = (aws.DATA_DIR / name).read_text().splitlines()
        assert text[0].endswith("source")
        assert all(line.rsplit(",", 1)[-1].strip() for line in text[1:])


# --------------------------------------------------------------------------- fetch over HTTP


class _PriceServer(ProviderServer):
    """Serves the fixtures like pricing.us-east-1.amazonaws.com and the spot host, with ETags."""

    def __init__(self) -> None:
        super().__init__()
        for path, fixture in {
            "/offers/v1.0/aws/index.json": OFFER_INDEX,
            "/offers/v1.0/aws/AmazonEC2/current/region_index.json": REGION_INDEX,
            US_EAST_1_VERSION_PATH: OFFER_FILE,
            "/spot.json": SPOT_2026,
        }.items():
            self.route(path, conditional(fixture.read_bytes()))


async def _fetch(server: _PriceServer, tmp_path: Path, previous: dict) -> list[Response]:
    async with HttpClient(max_retries=0, clock=lambda: FETCHED_AT) as client:
        ctx = FetchContext(
            provider="aws",
            client=client,
            base_url=server.url,
            base_urls={"spot": server.url},
            settings={"AWS_REGIONS": "us-east-1"},
            previous=previous,
            workdir=tmp_path,
        )
        return await aws.fetch(ctx)


def _manifest_entry(r: Response) -> dict:
    return {
        "url": r.url,
        "etag": r.headers.get("etag"),
        "last_modified": r.headers.get("last-modified"),
        "sha256": r.sha256,
        "fetched_at": r.fetched_at.isoformat(),
    }


def test_fetch_full_path_then_unchanged_version_and_304_skip(tmp_path):
    with _PriceServer() as server:
        first = asyncio.run(_fetch(server, tmp_path, previous={}))
        assert [r.kind for r in first] == ["offer-index", "region-index", "offer-file", "spot-feed"]
        offer_file = first[2]
        assert offer_file.url == server.url + US_EAST_1_VERSION_PATH
        assert offer_file.body_path is not None and offer_file.body_path_gzip
        assert offer_file.sha256 == hashlib.sha256(OFFER_FILE.read_bytes()).hexdigest()
        result = aws.parse(first)
        models = {(o.instance_type, o.pricing_model) for o in result.offers}
        assert ("p4d.24xlarge", "on_demand") in models and ("g4dn.xlarge", "spot") in models
        assert server.paths().count(US_EAST_1_VERSION_PATH) == 1

        previous = {r.url: _manifest_entry(r) for r in first}
        server.requests.clear()
        second = asyncio.run(_fetch(server, tmp_path, previous=previous))
        # the versioned offer-file URL is already archived: not requested at all
        assert US_EAST_1_VERSION_PATH not in server.paths()
        assert second[2].not_modified and second[2].sha256 == offer_file.sha256
        # the spot feed was asked conditionally and answered 304
        assert second[3].not_modified and second[3].status == 304
        assert aws.parse(second[2:]).offers == []  # bodies come from the archive, not here


def test_fetch_unknown_region_setting_fails(tmp_path):
    async def go():
        with _PriceServer() as server:
            async with HttpClient(max_retries=0) as client:
                ctx = FetchContext(
                    provider="aws",
                    client=client,
                    base_url=server.url,
                    base_urls={"spot": server.url},
                    settings={"AWS_REGIONS": "mars-1"},
                    workdir=tmp_path,
                )
                await aws.fetch(ctx)

    with pytest.raises(ParseError, match="mars-1"):
        asyncio.run(go())


# --------------------------------------------------------------------------- hardening


def _generated_offer_file(tmp_path, monkeypatch) -> Path:
    bench = _load_bench()
    monkeypatch.setattr(bench, "OFFER_SAMPLE", OFFER_FILE)
    monkeypatch.setattr(bench, "RESERVED_SAMPLE", M5_ITEM)
    path = tmp_path / "generated.json"
    bench.generate(path, 1.5, gpu_every=7)
    return path


LAYOUTS = {
    "live": None,  # as generated: the live files' `"key" : value`, 2-space indent
    "colon-space": {"indent": 2},  # `"key": value`
    "compact": {"separators": (",", ":")},
    "tab-indent": {"indent": "\t", "separators": (",", " : ")},
    "sorted-keys": {"indent": 4, "sort_keys": True},  # sku after attributes, header last
    "sorted-compact": {"separators": (",", ":"), "sort_keys": True},
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_finding_17_fast_scan_does_not_depend_on_json_layout(tmp_path, monkeypatch, layout):
    # Finding 17: the fast scan fell back to ijson (0.76x json.load) on a valid offer file
    # written differently; every valid layout of the same content must take the fast path.
    path = _generated_offer_file(tmp_path, monkeypatch)
    if LAYOUTS[layout] is not None:
        path.write_text(json.dumps(json.loads(path.read_text()), **LAYOUTS[layout]))
    r = file_response(path)
    fast_src, slow_src = offers.context(r), offers.context(r)
    fast = offer_file._scan_offer_file(r, fast_src)  # raises _LayoutSurprise if it cannot
    slow = offer_file._scan_offer_file_ijson(r, slow_src)
    assert len(fast.products) >= 5
    assert fast.products == slow.products
    assert fast.on_demand == slow.on_demand and fast.reserved == slow.reserved
    assert (
        (fast_src.offer_version, fast_src.publication_date)
        == (
            slow_src.offer_version,
            slow_src.publication_date,
        )
        != (None, None)
    )
    result = aws.parse([r])
    assert not any("used ijson" in w for w in result.warnings)
    assert _offer_rows(result) == _offer_rows(aws.parse([file_response(path)]))


@pytest.mark.parametrize("layout", ["live", "compact"])
@pytest.mark.parametrize("fraction", [0.2, 0.6, 0.9, 0.995])
def test_finding_05_truncated_offer_file_is_an_error(tmp_path, monkeypatch, layout, fraction):
    # Finding 5: a file cut short (here after a complete object, the hardest case: every
    # decoded piece is valid JSON) returned a partial set of offers with exit 0.
    path = _generated_offer_file(tmp_path, monkeypatch)
    text = path.read_text()
    if LAYOUTS[layout] is not None:
        text = json.dumps(json.loads(text), **LAYOUTS[layout])
    cut = text[: int(len(text) * fraction)]
    path.write_text(cut[: cut.rfind("}") + 1])
    with pytest.raises(ParseError, match="aws") as err:
        aws.parse([file_response(path)])
    assert err.value.field in ("document", "products", "terms")


def test_finding_05_truncated_gzip_offer_file_is_an_error(tmp_path):
    # how the pipeline stores downloads: a gzip stream cut short is an error, not EOF
    path = tmp_path / "offer.json.gz"
    path.write_bytes(gzip.compress(OFFER_FILE.read_bytes())[:-40])
    with pytest.raises(ParseError, match="aws"):
        aws.parse([file_response(path, gzip_body=True)])


# --------------------------------------------------------------------------- accelerator kinds

# Models the spec table lists for the non-GPU accelerators AWS sells (issue 12: Inferentia,
# Trainium and Gaudi-style chips are `asic`, never ranked as GPUs).
ASIC_MODELS = {"Inferentia", "Inferentia2", "Trainium", "Trainium2", "Gaudi"}


def test_family_table_uses_the_documented_accelerator_kinds():
    from scrapers.aws.tables import families

    kinds = {f.family: f.accelerator_kind for f in families().values()}
    assert set(kinds.values()) <= {"gpu", "tpu", "asic"}
    assert {f for f, k in kinds.items() if k == "asic"} == {
        "inf1",
        "inf2",
        "trn1",
        "trn1n",
        "trn2",
        "dl1",
    }


def test_asic_families_resolve_to_non_gpu_spec_models():
    from pipelines.ingest.gpus import resolve
    from scrapers.aws.tables import families

    specs = {r["gpu_model"]: r for r in csv_rows("pipelines/data/gpu_specs.csv")}
    for fam in families().values():
        model = resolve(
            fam.gpu_name_raw, provider="aws", instance_type=f"{fam.family}.xlarge"
        ).gpu_model
        if fam.accelerator_kind == "asic":
            assert model in ASIC_MODELS, (fam.family, model)
            assert specs[model]["gpu_vendor"] in {"AWS", "Intel"}, (fam.family, model)
        else:
            assert model not in ASIC_MODELS, (fam.family, model)


def test_inferentia_rows_of_the_spot_feed_resolve_to_inferentia_not_a_gpu():
    from pipelines.ingest.gpus import resolve

    inf = [o for o in aws.parse([response(SPOT_2021)]).offers if o.instance_type[:3] == "inf"]
    assert inf, "the 2021 spot feed fixture has inf1 rows"
    for o in inf:
        resolved = resolve(o.gpu_name_raw, provider="aws", instance_type=o.instance_type)
        assert resolved.gpu_model == "Inferentia", o.instance_type


def csv_rows(relative: str) -> list[dict[str, str]]:
    import csv

    root = Path(__file__).resolve().parents[2]
    with (root / relative).open(newline="") as fh:
        return list(csv.DictReader(fh))
