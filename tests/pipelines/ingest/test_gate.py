"""The gate's typed findings: which rows it quarantines, why, and when a provider fails.

Rows are built with tests/support/observations.py (p4d.24xlarge at its price in the real
AWS offer file of 2024-05-28); the TPU and Inferentia rows use Google's and AWS's list
prices as published (TPU v5p 4.20 USD/chip-hour, inf2.xlarge 0.7582 USD/h).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.ingest import gate
from pipelines.ingest.gate import CheckId, Finding, Severity
from pipelines.schema import OBSERVATION_FIELDS
from pipelines.tables import QUARANTINE, QUARANTINE_CHECKS
from tests.support.observations import P4D_USD_PER_HOUR, observation


def frame(*rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=[f.name for f in OBSERVATION_FIELDS])
    return df.astype({"price_per_hour": float, "gpu_count": float})


def fleet(n: int, **kw) -> list[dict]:
    return [observation(f"p4d.fleet{i}", **kw) for i in range(n)]


def test_findings_are_typed_and_print_as_one_line():
    bad = observation("p4d.bad", price=8 * 700.0)  # a 700 USD/GPU-hour placeholder
    result = gate.check("aws", frame(*fleet(40), bad), None)
    assert result.passed
    (f,) = result.findings
    assert isinstance(f, Finding)
    assert (f.check, f.severity, f.provider, f.field, f.count, f.example_offer_key) == (
        CheckId.PRICE_IMPLAUSIBLE,
        Severity.ROW,
        "aws",
        "price_usd_per_gpu_hour",
        1,
        bad["offer_key"],
    )
    assert str(f) == (
        f"aws: 1 GPU rows above 200 USD per GPU-hour (e.g. {bad['offer_key']} at 700.00 "
        "USD/GPU-hour; field price_usd_per_gpu_hour)"
    )
    assert "\n" not in str(f)
    assert f.to_dict()["check"] == "price_implausible"
    assert len(result.publish) == 40 and result.quarantined["offer_key"].tolist() == [
        bad["offer_key"]
    ]


def test_tpu_bound_is_lower_than_the_gpu_bound():
    # 120 per chip-hour passes as a GPU price but is no TPU list price (v5p: 4.20).
    tpus = [
        observation(f"v5p-{i}", price=4.2, gpu_model="TPU v5p", gpu_count=1.0, provider="gcp")
        for i in range(30)
    ]
    odd = observation("v5p-odd", price=120.0, gpu_model="TPU v5p", gpu_count=1.0, provider="gcp")
    gpu = observation("a3-odd", price=120.0, gpu_model="H100", gpu_count=1.0, provider="gcp")
    result = gate.check("gcp", frame(*tpus, odd, gpu), None, max_quarantine_fraction=0.1)
    assert result.quarantined["instance_type"].tolist() == ["v5p-odd"]
    assert [str(f).split(" (")[0] for f in result.findings] == [
        "gcp: 1 TPU rows above 50 USD per TPU-hour"
    ]


def test_accelerator_kind_column_wins_over_the_name():
    rows = [
        observation(f"inf2.{i}", price=0.7582, gpu_model="Inferentia2", gpu_count=1.0)
        for i in range(20)
    ]
    rows.append(observation("inf2.odd", price=90.0, gpu_model="Inferentia2", gpu_count=1.0))
    df = frame(*rows)
    assert set(gate.accelerator_kind(df)) == {"asic"}
    df["accelerator_kind"] = "gpu"  # a normalizer that says otherwise is believed
    assert gate.check("aws", df, None).findings == []


def test_duplicates_keep_the_cheapest_row_whatever_the_input_order():
    linux = observation(price=P4D_USD_PER_HOUR)
    windows = observation(price=P4D_USD_PER_HOUR + 3.68)
    for order in ((linux, windows), (windows, linux)):
        result = gate.check("aws", frame(*fleet(30), *order), None)
        assert result.passed
        kept = result.publish[result.publish.offer_key == linux["offer_key"]]
        assert kept["price_per_hour"].tolist() == [P4D_USD_PER_HOUR]
        assert result.quarantined["price_per_hour"].tolist() == [P4D_USD_PER_HOUR + 3.68]
        assert [f.check for f in result.findings] == [CheckId.DUPLICATE_KEY]


def test_each_row_check_quarantines_with_its_field():
    rows = fleet(100)
    rows[0]["instance_type"] = None
    rows[1]["price_per_hour"] = 0.0
    rows[2]["gpu_count"] = 0.0
    rows[3]["pricing_model"], rows[3]["price_per_hour"] = "free", 1.0
    result = gate.check("aws", frame(*rows), None)
    assert result.passed and len(result.publish) == 96
    got = {(f.check, f.field, f.count) for f in result.findings}
    assert got == {
        (CheckId.REQUIRED_FIELD, "instance_type", 1),
        (CheckId.PRICE_NOT_POSITIVE, "price_per_hour", 1),
        (CheckId.GPU_COUNT, "gpu_count", 1),
        (CheckId.FREE_WITH_PRICE, "price_per_hour", 1),
    }
    assert sorted(result.quarantined["check"]) == sorted(str(f.check) for f in result.findings)


@pytest.mark.parametrize(
    ("obs", "last", "expect"),
    [
        (frame(), 10, [CheckId.ZERO_ROWS]),
        (frame(*fleet(3)), 10, [CheckId.ROW_COUNT_COLLAPSE]),
        (frame(*fleet(3)).drop(columns=["currency"]), None, [CheckId.MISSING_COLUMNS]),
        (frame(*fleet(3), observation(provider="gcp")), None, [CheckId.WRONG_PROVIDER]),
    ],
)
def test_run_level_checks_fail_the_provider(obs, last, expect):
    result = gate.check("aws", obs, last)
    assert not result.passed and len(result.publish) == 0
    assert [f.check for f in result.findings if f.severity == Severity.RUN] == expect


def test_quarantine_share_above_the_fraction_fails_the_provider():
    rows = fleet(19) + [observation("p4d.bad", price=-1.0)]  # 1 of 20 = 5%: allowed
    assert gate.check("aws", frame(*rows), None).passed
    rows.append(observation("p4d.bad2", price=-1.0))  # 2 of 21 = 9.5%
    result = gate.check("aws", frame(*rows), None)
    assert not result.passed
    assert result.findings[-1].check == CheckId.QUARANTINE_SHARE
    assert str(result.findings[-1]) == (
        "aws: 2 of 21 rows quarantined (9.5%), more than the allowed 5.0%"
    )
    assert gate.check("aws", frame(*rows), None, max_quarantine_fraction=0.1).passed


def test_finding_03_absurd_price_in_a_currency_without_fx_rate_is_quarantined():
    """Issue 16 finding 3 (Scaleway at 6e10 EUR/h): the bound holds in the row's currency."""
    rows = [
        observation(
            f"L4-{i}",
            price=0.75,
            gpu_model="L4",
            gpu_count=1.0,
            currency="EUR",
            provider="scaleway",
        )
        for i in range(30)
    ]
    rows.append(
        observation(
            "RENDER-S",
            price=6e10,
            gpu_model="P100",
            gpu_count=1.0,
            currency="EUR",
            provider="scaleway",
        )
    )
    df = frame(*rows)
    df["price_usd_per_hour"] = None
    df["price_usd_per_gpu_hour"] = None
    result = gate.check("scaleway", df, None)
    assert result.quarantined["instance_type"].tolist() == ["RENDER-S"]
    assert [(f.check, f.field) for f in result.findings] == [
        (CheckId.PRICE_IMPLAUSIBLE, "price_per_hour")
    ]
    # 230 EUR for one GPU-hour is within the EUR bound (200 USD at up to 1.2 EUR per USD);
    # 230 USD is not.
    df.loc[len(df) - 1, "price_per_hour"] = 230.0
    assert gate.check("scaleway", df, None).findings == []
    df.loc[len(df) - 1, "currency"] = "USD"
    assert [f.check for f in gate.check("scaleway", df, None).findings] == [
        CheckId.PRICE_IMPLAUSIBLE
    ]


def test_quarantine_table_documents_every_row_level_check():
    """The `check` column of gpu_quarantine (declared in the catalogue, which cannot import
    the gate) lists exactly the row-level checks: a new check must be documented there."""
    run_level = {
        CheckId.MISSING_COLUMNS,
        CheckId.WRONG_PROVIDER,
        CheckId.ZERO_ROWS,
        CheckId.ROW_COUNT_COLLAPSE,
        CheckId.QUARANTINE_SHARE,
    }
    assert set(QUARANTINE_CHECKS) == {c.value for c in CheckId if c not in run_level}
    assert all(c in QUARANTINE.field("check").description for c in QUARANTINE_CHECKS)
