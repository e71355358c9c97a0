"""The import formats on excerpts of real catalog versions (tests/fixtures/imports/README.md),
including the noise those histories hold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.base import ParseError, Response
from scrapers.imports import (
    aws_gpu_tracker,
    azure_radar_json,
    cloud_gpus_json,
    colab_free_tier,
    gcp_pricing_yml,
)
from scrapers.imports.formats import FORMATS, IMPORT_PROVIDERS
from scrapers.registry import PROVIDERS

FIX = Path(__file__).parents[2] / "fixtures" / "imports"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def resp(fmt: str, name: str | None = None, body: bytes | None = None) -> Response:
    data = body if body is not None else (FIX / fmt / name).read_bytes()
    return Response(url=f"file:{name or 'body'}", fetched_at=AT, body=data)


def keyed(result):
    return {(o.instance_type, o.region, o.zone, o.pricing_model): o for o in result.offers}


# --- aws-gpu-tracker-csv -------------------------------------------------------------------


def test_tracker_first_day_blank_placeholders_are_not_prices():
    r = aws_gpu_tracker.parse(
        [resp("aws-gpu-tracker-csv", "gpu_prices_2025-04-23T18-52_first.csv")]
    )
    (o,) = r.offers
    assert (o.instance_type, o.region, o.pricing_model) == ("p5.48xlarge", "us-east-1", "on_demand")
    assert o.price_per_hour == 98.32 and o.gpu_count == 8 and o.gpu_model_hint == "H100"
    assert r.warnings == []  # placeholders are not bad rows


def test_tracker_appended_blank_row_keeps_the_last_price():
    r = aws_gpu_tracker.parse(
        [resp("aws-gpu-tracker-csv", "gpu_prices_2025-04-23T19-14_blank-row.csv")]
    )
    assert [o.price_per_hour for o in r.offers] == [98.32]


def test_tracker_latest_row_is_the_june_2025_cut():
    r = aws_gpu_tracker.parse([resp("aws-gpu-tracker-csv", "gpu_prices_2026-08-22_excerpt.csv")])
    (o,) = r.offers
    assert o.price_per_hour == 55.04
    assert o.extra["tracker_timestamp"] == "2026-08-22T07:34:47"


def test_tracker_header_only_or_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="no priced row"):
        aws_gpu_tracker.parse([resp("aws-gpu-tracker-csv", body=b"timestamp,instance,price_usd\n")])
    with pytest.raises(ParseError, match="header"):
        aws_gpu_tracker.parse([resp("aws-gpu-tracker-csv", body=b"date,type,usd\n1,2,3\n")])


# --- gcp-pricing-yml ---------------------------------------------------------------------


def test_gcp_yml_gpu_machine_types_on_demand_and_spot():
    r = gcp_pricing_yml.parse([resp("gcp-pricing-yml", "pricing_2023-08-10_g2-excerpt.yml")])
    offers = keyed(r)
    g2 = offers[("g2-standard-4", "asia-south1", None, "on_demand")]
    assert g2.price_per_hour == pytest.approx(0.735779362)  # was 0.848976204 on 2023-07-27
    assert (g2.gpu_count, g2.gpu_model_hint, g2.gpu_memory_gb, g2.vcpus) == (1, "L4", 24, 4)
    assert ("a2-highgpu-1g", "us-central1", None, "spot") in offers
    # n2-standard-32 carries a `tier1` key: a CPU type, not an unknown GPU
    assert not any(o.instance_type.startswith("n2-") for o in r.offers)
    assert r.unknown == []


def test_gcp_yml_august_2023_g2_cut_in_some_regions_only():
    before = keyed(
        gcp_pricing_yml.parse([resp("gcp-pricing-yml", "pricing_2023-07-27_g2-excerpt.yml")])
    )
    after = keyed(
        gcp_pricing_yml.parse([resp("gcp-pricing-yml", "pricing_2023-08-10_g2-excerpt.yml")])
    )
    changed = {k for k in after if after[k].price_per_hour != before[k].price_per_hour}
    assert ("g2-standard-4", "asia-south1", None, "on_demand") in changed
    assert ("g2-standard-4", "us-central1", None, "on_demand") not in changed


def test_gcp_yml_excerpt_gives_the_same_offers():
    text = (FIX / "gcp-pricing-yml" / "pricing_2022-02-09_first_a2-excerpt.yml").read_text()
    full = gcp_pricing_yml.parse([resp("gcp-pricing-yml", body=text.encode())])
    cut = gcp_pricing_yml.parse(
        [resp("gcp-pricing-yml", body=gcp_pricing_yml.excerpt(text).encode())]
    )
    assert [
        (o.instance_type, o.region, o.pricing_model, o.price_per_hour) for o in full.offers
    ] == [(o.instance_type, o.region, o.pricing_model, o.price_per_hour) for o in cut.offers]
    # the 2022 layout has no spot prices yet
    assert {o.pricing_model for o in full.offers} == {"on_demand"}


def test_gcp_yml_price_basis_is_the_priced_machine_definition():
    # The relabelling of 2022-10-02 and the bundled local SSD of 2024-05-21 (commits in
    # tests/fixtures/imports/README.md) show in the basis; `local`, `bandwidth` and `type`
    # were never priced and stay out of it.
    def basis(name):
        r = gcp_pricing_yml.parse([resp("gcp-pricing-yml", name)])
        return {(o.instance_type, o.region, o.pricing_model): o.price_basis for o in r.offers}

    oct1 = basis("pricing_2022-10-01_a2-excerpt.yml")
    oct2 = basis("pricing_2022-10-02_a2-ultragpu-relabelled-excerpt.yml")
    key = ("a2-ultragpu-1g", "us-central1", "on_demand")
    assert (oct1[key], oct2[key]) == ("a100=1;cpu=12;ram=170", "a100-80gb=1;cpu=12;ram=170")
    same = ("a2-highgpu-1g", "us-central1", "on_demand")
    assert oct1[same] == oct2[same] == "a100=1;cpu=12;ram=85"

    may17 = basis("pricing_2024-05-17_a2-a3-g2-excerpt.yml")
    may21 = basis("pricing_2024-05-21_bundled-local-ssd-excerpt.yml")
    a3 = ("a3-highgpu-8g", "europe-west4", "spot")
    assert may17[a3] == "cpu=208;h100-80gb=8;ram=1872"
    assert may21[a3] == "cpu=208;h100-80gb=8;local-ssd=6000;ram=1872"
    g2 = ("g2-standard-4", "asia-south1", "on_demand")
    assert may17[g2] == may21[g2] == "cpu=4;l4=1;ram=16"


def test_gcp_yml_unknown_accelerator_key_is_listed_not_guessed():
    body = b"compute:\n  instance:\n    z9-gpu-1g:\n      cpu: 4\n      x200: 1\n      cost:\n        us-central1:\n          hour: 1.5\n    g2-standard-4:\n      l4: 1\n      cost:\n        us-central1:\n          hour: 0.7\n"
    r = gcp_pricing_yml.parse([resp("gcp-pricing-yml", body=body)])
    assert [o.instance_type for o in r.offers] == ["g2-standard-4"]
    assert any("z9-gpu-1g" in u and "x200" in u for u in r.unknown)


def test_gcp_yml_without_compute_section_fails_loudly():
    with pytest.raises(ParseError, match="compute: instance"):
        gcp_pricing_yml.parse([resp("gcp-pricing-yml", body=b"---\nabout:\n  x: 1\n")])


# --- cloud-gpus-json ---------------------------------------------------------------------


def test_cloud_gpus_curated_minimums_are_marked():
    r = cloud_gpus_json.parse([resp("cloud-gpus-json", "cloud_gpu_2021-05-20_first.json")])
    assert r.offers and all(o.price_scope == "curated_min" for o in r.offers)
    offers = {o.instance_type: o for o in r.offers}
    k80 = offers["aws.amazon.com: K80"]
    assert (k80.price_per_hour, k80.currency, k80.gpu_count) == (0.90, "USD", 1.0)
    assert k80.extra["curated_cloud"] == "Amazon Web Services (AWS)"


def test_cloud_gpus_renamed_cloud_keeps_its_offer_keys():
    first = cloud_gpus_json.parse([resp("cloud-gpus-json", "cloud_gpu_2021-05-20_first.json")])
    last = cloud_gpus_json.parse(
        [resp("cloud-gpus-json", "cloud_gpu_2025-09-17_last_excerpt.json")]
    )
    aws_first = {o.instance_type for o in first.offers if o.instance_type.startswith("aws.")}
    aws_last = {o.instance_type for o in last.offers if o.instance_type.startswith("aws.")}
    # "Amazon Web Services (AWS)" became "Amazon AWS": same site, same keys
    assert aws_first & aws_last


def test_cloud_gpus_euro_prices_and_dash_placeholders():
    r = cloud_gpus_json.parse(
        [resp("cloud-gpus-json", "cloud_gpu_euro-and-dollar-dash_excerpt.json")]
    )
    assert r.offers and {o.currency for o in r.offers} == {"EUR"}
    assert r.warnings == []


# --- azure-radar-json --------------------------------------------------------------------


def test_azure_radar_gpu_meters_linux_only():
    r = azure_radar_json.parse([resp("azure-radar-json", "vm-eu-west_2026-07-15_excerpt.json")])
    offers = keyed(r)
    assert set(offers) == {
        ("Standard_NC4as_T4_v3", "westeurope", None, "on_demand"),
        ("Standard_NC4as_T4_v3", "westeurope", None, "spot"),
    }
    od = offers[("Standard_NC4as_T4_v3", "westeurope", None, "on_demand")]
    assert od.gpu_model_hint == "T4" and od.currency == "USD"
    assert "Windows" not in od.extra["productName"]


def test_azure_radar_excerpt_keeps_gpu_meters():
    body = (FIX / "azure-radar-json" / "vm-eu-west_2026-07-15_excerpt.json").read_bytes()
    cut = azure_radar_json.excerpt(body)
    assert b"D4lds" not in cut and b"NC4as" in cut
    assert len(azure_radar_json.parse([resp("azure-radar-json", body=cut)]).offers) == 2


def test_azure_radar_meter_spellings_meet_the_vm_size_table():
    """Real meters of 2026-08-03: "NC16asT4 v3" (no underscore before T4) and the RTX PRO
    6000 v6 sizes ("NC128dsxlRTX6Kv6") were listed as unknown VM sizes and dropped."""
    r = azure_radar_json.parse(
        [resp("azure-radar-json", "vm-northeurope_2026-08-03_meter-spellings.json")]
    )
    offers = keyed(r)
    t4 = offers[("Standard_NC16as_T4_v3", "northeurope", None, "on_demand")]
    assert (t4.price_per_hour, t4.gpu_count, t4.gpu_model_hint) == (1.342, 1.0, "T4")
    rtx = offers[("Standard_NC128ds_xl_RTXPRO6000BSE_v6", "northeurope", None, "on_demand")]
    assert (rtx.price_per_hour, rtx.gpu_count, rtx.gpu_memory_gb) == (9.129, 1.0, 96.0)
    assert rtx.extra["meter"] and "Windows" not in rtx.extra["productName"]
    lds = offers[("Standard_NC128lds_xl_RTXPRO6000BSE_v6", "northeurope", None, "on_demand")]
    assert lds.price_per_hour == 7.87
    ga = offers[("Standard_NC144ds_xl_RTXPRO6000BSE_v6", "northeurope", None, "on_demand")]
    assert (ga.price_per_hour, ga.vcpus) == (9.129, 144.0)
    assert r.unknown == []


def test_azure_radar_a100_and_confidential_h100_meters_linux_prices():
    """Real meters of 2026-08-20 (westeurope): "ND96amsA100v4" and "ND96asr_A100_v4" name
    the ND A100 v4 sizes without their armSkuName spelling, and the confidential H100's
    Windows product ends "Srs Win", not "Windows": its dearer Windows price was kept."""
    r = azure_radar_json.parse(
        [resp("azure-radar-json", "vm-westeurope_meter-spellings-a100-ncc.json")]
    )
    offers = keyed(r)
    a100_80 = offers[("Standard_ND96amsr_A100_v4", "westeurope", None, "on_demand")]
    assert (a100_80.price_per_hour, a100_80.gpu_count, a100_80.gpu_memory_gb) == (40.962, 8.0, 80.0)
    a100_40 = offers[("Standard_ND96asr_v4", "westeurope", None, "on_demand")]
    assert (a100_40.price_per_hour, a100_40.gpu_memory_gb) == (35.357, 40.0)
    ncc = offers[("Standard_NCC40ads_H100_v5", "westeurope", None, "on_demand")]
    assert ncc.price_per_hour == 8.9 and ncc.extra["productName"].endswith("Srs")
    assert offers[("Standard_NCC40ads_H100_v5", "westeurope", None, "spot")].price_per_hour in (
        1.64472,
        1.78,
    )
    assert r.unknown == []


def test_azure_radar_no_gpu_meter_fails():
    with pytest.raises(ParseError, match="no GPU VM meter"):
        azure_radar_json.parse([resp("azure-radar-json", body=b"{}")])


# --- skypilot-vms-csv --------------------------------------------------------------------


def sky(cloud: str):
    return PROVIDERS[f"skypilot_{cloud}"].parse


def test_skypilot_gcp_tpus_duplicates_zero_prices_and_host_rows():
    r = sky("gcp")([resp("skypilot-vms-csv", "gcp_v6_vms_excerpt.csv")])
    offers = keyed(r)
    # host VM rows (no accelerator) and the CPU row are not offers; 0.0 prices are no price
    assert {k[0] for k in offers} == {"tpu-v6e-64 x1", "tpu-v6e-256 x1"}
    assert (
        "tpu-v6e-64 x1",
        "southamerica-west1",
        "southamerica-west1-a",
        "on_demand",
    ) not in offers
    tpu = offers[("tpu-v6e-64 x1", "europe-west4", "europe-west4-a", "spot")]
    assert (tpu.price_per_hour, tpu.price_scope, tpu.gpu_name_raw) == (
        64.6272,
        "gpu_only",
        "tpu-v6e-64",
    )
    # the file's exact duplicate rows give one offer each, silently
    assert r.warnings == []
    assert len([k for k in offers if k[0] == "tpu-v6e-256 x1"]) == 2


def test_skypilot_lambda_column_order_and_gpu_memory():
    r = sky("lambda")([resp("skypilot-vms-csv", "lambda_v5_vms_excerpt.csv")])
    offers = keyed(r)
    a100 = offers[("gpu_8x_a100", "us-west-2", None, "on_demand")]
    assert (a100.price_per_hour, a100.gpu_count, a100.gpu_memory_gb, a100.vcpus) == (
        10.32,
        8.0,
        40.0,
        124.0,
    )
    assert all(o.price_scope == "instance" for o in r.offers)
    assert not any(k[0].startswith("cpu_") for k in offers)


def test_skypilot_unquoted_gpuinfo_commas_are_joined_back():
    # a real lambda row with the quotes around GpuInfo removed (as some files have it)
    line = (FIX / "skypilot-vms-csv" / "lambda_v5_vms_excerpt.csv").read_text().splitlines()
    body = "\n".join([line[0], line[3].replace('"', "")]).encode()
    (o,) = sky("lambda")([resp("skypilot-vms-csv", body=body)]).offers
    assert (o.instance_type, o.gpu_memory_gb, o.price_per_hour) == ("gpu_1x_a6000", 48.0, 0.8)


def test_skypilot_conflicting_duplicates_keep_the_cheaper_with_a_warning():
    lines = (FIX / "skypilot-vms-csv" / "lambda_v5_vms_excerpt.csv").read_text().splitlines()
    dearer = lines[2].replace(",4.4,", ",4.9,")
    r = sky("lambda")(
        [resp("skypilot-vms-csv", body="\n".join([lines[0], dearer, lines[2]]).encode())]
    )
    assert [o.price_per_hour for o in r.offers] == [4.4]
    assert any("duplicate" in w for w in r.warnings)


def test_skypilot_header_only_file_fails_the_provider():
    with pytest.raises(ParseError, match="header only"):
        sky("lambda")([resp("skypilot-vms-csv", "header_only_lambda_v5.csv")])


# --- registry ------------------------------------------------------------------------------


def test_every_format_feeds_registered_import_only_providers():
    for fmt in FORMATS.values():
        for name in fmt.providers:
            spec = PROVIDERS[name]
            assert spec is IMPORT_PROVIDERS[name] and spec.import_format == fmt.name
            assert (FIX / fmt.name).is_dir()


def test_tracker_excerpt_is_stable_until_the_price_moves():
    versions = [
        (FIX / "aws-gpu-tracker-csv" / n).read_bytes()
        for n in (
            "gpu_prices_2025-04-23T18-52_first.csv",
            "gpu_prices_2025-04-23T19-14_blank-row.csv",
            "gpu_prices_2026-08-22_excerpt.csv",
        )
    ]
    cuts = [aws_gpu_tracker.excerpt(v) for v in versions]
    assert cuts[0] == cuts[1]  # a blank row appended: same excerpt, skipped unread on replay
    assert cuts[2] == b"timestamp,instance,price_usd\n2025-06-05T07:22:36,p5.48xlarge,55.04\n"
    for full, cut in zip(versions, cuts, strict=True):
        a = aws_gpu_tracker.parse([resp("aws-gpu-tracker-csv", body=full)]).offers
        b = aws_gpu_tracker.parse([resp("aws-gpu-tracker-csv", body=cut)]).offers
        assert [o.price_per_hour for o in a] == [o.price_per_hour for o in b]


def test_gcp_excerpt_rounds_away_float_jitter_only():
    text = (FIX / "gcp-pricing-yml" / "pricing_2023-08-10_g2-excerpt.yml").read_text()
    jitter = text.replace("hour: 3.673385", "hour: 3.67338500000001")
    assert gcp_pricing_yml.excerpt(jitter) == gcp_pricing_yml.excerpt(text)
    moved = text.replace("hour: 3.673385", "hour: 3.6733851")
    assert gcp_pricing_yml.excerpt(moved) != gcp_pricing_yml.excerpt(text)


# --- colab-free-tier-records -------------------------------------------------------------

RECORDS = Path(__file__).parents[3] / "examples" / "colab_free_tier" / "records.csv"
HEADER = ",".join(colab_free_tier.COLUMNS)


def _with_rows(*rows: str) -> bytes:
    """The real records file plus constructed rows (for the noise cases only)."""
    return RECORDS.read_bytes() + "".join(f"{r}\n" for r in rows).encode()


def _windows(body: bytes) -> dict[str, object]:
    return {p.label: p for p in colab_free_tier.split(body)}


def test_colab_records_split_into_yearly_windows_with_a_majority():
    parts = _windows(RECORDS.read_bytes())
    kept = {k: p for k, p in parts.items() if p.observed_at is not None}
    assert {k: p.observed_at.isoformat() for k, p in kept.items()} == {
        "2018": "2018-10-15T23:59:59+00:00",
        "2019": "2019-11-21T23:59:59+00:00",
        "2022": "2022-11-19T23:59:59+00:00",
    }
    gpus = {
        k: colab_free_tier.parse([resp("", body=p.body)]).offers[0].gpu_name_raw
        for k, p in kept.items()
    }
    assert gpus == {"2018": "K80", "2019": "K80", "2022": "T4"}
    # Years without two agreeing recordings give no snapshot, and say why.
    assert parts["2020"].observed_at is None and "K80 x1, P100 x1" in parts["2020"].skipped
    assert {k for k, p in parts.items() if p.observed_at is None} == {
        "2020",
        "2021",
        "2024",
        "2025",
    }
    # The 2019 window, cut again, is the fixture (rows unchanged).
    fixture = FIX / "colab-free-tier-records" / "records_2019_window.csv"
    assert parts["2019"].body == fixture.read_bytes()


def test_colab_window_offer_is_the_free_tier_with_every_count():
    r = colab_free_tier.parse([resp("colab-free-tier-records", "records_2019_window.csv")])
    (o,) = r.offers
    assert (o.instance_type, o.region, o.pricing_model, o.price_per_hour) == (
        "free",
        "global",
        "free",
        0.0,
    )
    assert (o.gpu_name_raw, o.gpu_count) == ("K80", 1.0)
    assert o.extra["gpu_counts"] == {"K80": 6, "P100": 2, "T4": 2}
    assert o.extra["recordings"] == 10 and o.extra["gpu_memory_mib_seen"] == [11441]
    assert "https://github.com/googlecolab/colabtools/issues/848" in o.extra["threads"]
    assert r.warnings == []


def test_colab_single_odd_recording_moves_nothing():
    # A Tesla P4 in a K80 year is outvoted; a year holding one odd recording has no snapshot.
    parts = _windows(
        _with_rows(
            "2018-12-01,P4,Tesla P4,7611,nvidia-smi,pre-pro,constructed,https://example.org/1",
            "2023-03-01,K80,Tesla K80,,user report,stated,constructed,https://example.org/2",
        )
    )
    (o,) = colab_free_tier.parse([resp("", body=parts["2018"].body)]).offers
    assert o.gpu_name_raw == "K80" and o.extra["gpu_counts"] == {"K80": 4, "P4": 1}
    assert parts["2023"].observed_at is None
    # Two disagreeing recordings (a tie) state nothing either.
    assert (
        colab_free_tier.verdict(
            [
                r
                for r in colab_free_tier.read_records(RECORDS.read_bytes(), "x")[0]
                if r.observed_on.year == 2020
            ]
        )
        is None
    )


def test_colab_bad_rows_are_skipped_and_mixed_windows_fail():
    body = (
        f"{HEADER}\n"
        "2019-01-19,K80,K80,,user report,pre-pro,w,https://github.com/googlecolab/colabtools/issues/398\n"
        "2019-09-05,K80,K80,,user report,pre-pro,w,https://github.com/googlecolab/colabtools/issues/736\n"
        # constructed bad rows: a 'pre-pro' recording after Colab Pro launched, a bad date
        "2019-12-01,T4,T4,,user report,maybe,w,https://example.org/3\n"
        "2019-13-01,T4,T4,,user report,pre-pro,w,https://example.org/4\n"
    ).encode()
    r = colab_free_tier.parse([resp("", body=body)])
    assert r.offers[0].gpu_name_raw == "K80" and len(r.warnings) == 2
    assert "free_tier_basis 'maybe'" in r.warnings[0] and "line 5" in r.warnings[1]
    late = body.replace(
        b"2019-09-05,K80,K80,,user report,pre-pro", b"2020-03-05,K80,K80,,user report,stated"
    )
    with pytest.raises(ParseError, match="2 windows"):
        colab_free_tier.parse([resp("", body=late)])
    lone = f"{HEADER}\n2020-06-23,K80,K80,,user report,pre-pro,w,https://example.org/5\n"
    with pytest.raises(ParseError, match="no usable recording"):
        colab_free_tier.parse([resp("", body=lone.encode())])  # 'pre-pro' after Pro launched
    with pytest.raises(ParseError, match="header"):
        colab_free_tier.parse([resp("", body=b"date,gpu\n2019-01-01,K80\n")])
    one = f"{HEADER}\n2021-09-07,K80,K80s,,user report,stated,w,https://example.org/6\n"
    with pytest.raises(ParseError, match="no GPU model named by 2"):
        colab_free_tier.parse([resp("", body=one.encode())])


# --- provider rules of the cloud an imported catalog copies ------------------------------


def test_imported_cloud_catalogs_resolve_gpus_with_that_clouds_instance_families():
    """An import of GCP's (AWS's) catalog names GCP's (AWS's) machine types, so the
    instance-family rows of gpu_aliases.csv give the form factor the GPU name leaves open
    (a2/a3 = SXM): without it those rows fall out of the SXM price indexes
    (`form_factor_unknown`). The published row says how: `gpu_resolution` "context"."""
    from pipelines.ops.parsing import parse as parse_and_normalize

    gcp = PROVIDERS["gcp_cyclenerd"]
    assert gcp.gpu_rules_of == "gcp"
    df, _ = parse_and_normalize(
        gcp, [resp("gcp-pricing-yml", "pricing_2024-05-17_a2-a3-g2-excerpt.yml")], fx=None
    )
    got = {
        (r.instance_type, r.gpu_model, r.gpu_memory_gb, r.gpu_form_factor, r.gpu_resolution)
        for r in df.itertuples()
    }
    assert got == {
        ("a2-ultragpu-1g", "A100", 80.0, "SXM", "context"),
        ("a3-highgpu-8g", "H100", 80.0, "SXM", "context"),
        ("g2-standard-4", "L4", 24.0, "PCIe", "alias"),
    }

    tracker = PROVIDERS["aws_gpu_tracker"]
    df, _ = parse_and_normalize(
        tracker,
        [resp("aws-gpu-tracker-csv", "gpu_prices_2025-04-23T18-52_first.csv")],
        fx=None,
    )
    assert df[["instance_type", "gpu_model", "gpu_form_factor"]].values.tolist() == [
        ["p5.48xlarge", "H100", "SXM"]
    ]
    # A source of its own (not a copy of one cloud's catalog) keeps its own rules only.
    assert PROVIDERS["cloud_gpus"].gpu_rules_of is None
