"""Acceptance: the rankings a new user sees after the README's command 1.

`scrape run --all --replay examples/archive` into a temp directory, then what a user reads:
`gpu_prices.parquet` and the summary in pandas, `scrape top --json` on the command line,
and the README's own pandas snippet. The checks are invariants over whatever the example
holds (no figures copied from it), so they keep holding as recordings are added:

- for every GPU model and pricing model, `scrape top --gpu G --pricing P` returns exactly
  the current instance-scope offers of the price table (ranked plus unranked), and the
  summary counts exactly their providers;
- an offer is unranked only for a documented reason, and the reason is true;
- price_scope, accelerator_kind and spec_match hold only their documented values; GCP's
  GPU SKU rows are gpu_only; no Inferentia/Trainium/Gaudi row is ranked as a GPU;
- the README's snippet and `scrape top --by gpu-hour` give the same answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.derive.specs import load_specs
from pipelines.derive.tflops import PRECISIONS, SUMMARY_FILE, TFLOPS_FILE, UNRANKED_REASONS
from pipelines.ingest.kinds import accelerator_kind
from pipelines.schema import ACCELERATOR_KINDS, PRICE_SCOPES, SPEC_MATCHES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "archive"
README = ROOT / "README.md"
ALL = "100000"  # -n: every ranked row (the default shows 20)
runner = CliRunner()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("example")
    env = {
        "GPU_PRICES_ROOT": str(root),
        "GPU_PRICES_DATASETS_DIR": str(root / "datasets"),
        "GPU_PRICES_ARCHIVE_DIR": str(root / "archive"),
        "GPU_PRICES_STATE_DIR": str(root / "state"),
    }
    res = runner.invoke(app, ["run", "--all", "--replay", str(EXAMPLE)], env=env)
    assert res.exit_code == 0, res.output
    return root / "datasets"


@pytest.fixture(scope="module")
def current(datasets) -> pd.DataFrame:
    df = pd.read_parquet(datasets / "gpu_prices.parquet")
    df = df[df.valid_to.isna()]
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object)
    return df


def top(datasets: Path, *args: str) -> list[dict]:
    res = runner.invoke(app, ["top", *args, "-n", ALL, "--datasets", str(datasets), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_top_returns_every_current_instance_offer_of_each_model_and_pricing(datasets, current):
    instance = current[(current.price_scope == "instance") & current.gpu_model.notna()]
    groups = instance.groupby(["gpu_model", "pricing_model"]).offer_key.agg(set)
    assert not groups.empty
    for (model, pricing), expected in groups.items():
        rows = top(datasets, "--gpu", model, "--pricing", pricing)
        # set(): with Arrow-backed strings (offer_key) pandas turns agg(set) into lists
        assert {r["offer_key"] for r in rows} == set(expected), (model, pricing)
        assert len(rows) == len(expected), (model, pricing)  # each offer once


def test_top_without_filters_lists_every_current_offer_of_a_pricing_model(datasets, current):
    for pricing, expected in current.groupby("pricing_model").offer_key.agg(set).items():
        for by in ("pflop-hour", "gpu-hour"):
            rows = top(
                datasets, "--pricing", pricing, "--scope", "all", "--kind", "all", "--by", by
            )
            assert {r["offer_key"] for r in rows} == set(expected), (pricing, by)
            assert len(rows) == len(expected), (pricing, by)


def test_summary_counts_every_provider_of_the_instance_offers(datasets, current):
    summary = pd.read_parquet(datasets / SUMMARY_FILE)
    summary = summary[summary.price_scope == "instance"]
    instance = current[(current.price_scope == "instance") & current.gpu_model.notna()]
    providers = instance.groupby(["gpu_model", "pricing_model"]).provider.nunique()
    offers = instance.groupby(["gpu_model", "pricing_model"]).size()
    for precision in PRECISIONS:
        s = summary[summary.precision == precision].set_index(["gpu_model", "pricing_model"])
        assert set(s.index) == set(providers.index), precision
        assert (s.provider_count.astype(int) == providers.reindex(s.index)).all(), precision
        assert (s.offer_count.astype(int) == offers.reindex(s.index)).all(), precision


def test_an_offer_is_unranked_only_for_a_documented_and_true_reason(datasets, current):
    per = pd.read_parquet(datasets / TFLOPS_FILE)
    assert set(per.offer_key) == set(current.offer_key)
    assert len(per) == len(current) * len(PRECISIONS)
    specs = load_specs()
    spec_models = set(specs.gpu_model)
    price = current.set_index("offer_key").price_usd_per_gpu_hour
    for r in per.itertuples(index=False):
        reason = r.unranked_reason
        if pd.isna(reason):
            assert r.spec_match in ("exact", "family_lower_bound"), r
            assert r.tflops_per_gpu > 0 and r.usd_per_pflop_hour > 0 and r.rank_overall >= 1
            continue
        assert reason in UNRANKED_REASONS, r
        assert pd.isna(r.usd_per_pflop_hour) and pd.isna(r.rank_overall), r
        if reason == "no_price":
            assert not price[r.offer_key] > 0, r
        elif reason == "gpu_unresolved":
            assert pd.isna(r.gpu_model), r
        elif reason == "no_spec_row":
            assert r.gpu_model not in spec_models, r
        else:  # precision_unknown: no variant of the model has the figure
            column = PRECISIONS[r.precision]
            assert specs.loc[specs.gpu_model == r.gpu_model, column].isna().all(), r
    # the rule the other way round: a priced offer of a model with a figure is ranked
    has_figure = {
        (m, p) for p, c in PRECISIONS.items() for m in specs.loc[specs[c].notna(), "gpu_model"]
    }
    priced = per[per.offer_key.map(price).gt(0)]
    should_rank = [
        (m, p) in has_figure for m, p in zip(priced.gpu_model, priced.precision, strict=True)
    ]
    assert priced[should_rank].unranked_reason.isna().all()


def test_new_columns_hold_only_documented_values(datasets, current):
    assert set(current.price_scope) <= set(PRICE_SCOPES)
    assert current.price_scope.notna().all()
    kinds = current.accelerator_kind
    assert set(kinds.dropna()) <= set(ACCELERATOR_KINDS)
    assert (kinds.isna() == current.gpu_model.isna()).all()  # null only when unresolved
    assert set(current.spec_match) <= set(SPEC_MATCHES)
    no_row = current.spec_match == "none"
    assert (no_row == ~current.gpu_model.isin(set(load_specs().gpu_model))).all()
    per = pd.read_parquet(datasets / TFLOPS_FILE)
    assert set(per.price_scope) <= set(PRICE_SCOPES)
    assert set(per.spec_match) <= set(SPEC_MATCHES)
    # the Table Schema shared by the parts of gpu_prices.parquet in datapackage.json
    schema = json.loads((datasets / "gpu_prices.schema.json").read_text())
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["price_scope"]["constraints"]["enum"] == list(PRICE_SCOPES)
    assert fields["spec_match"]["constraints"]["enum"] == list(SPEC_MATCHES)


def test_gcp_gpu_sku_rows_are_gpu_only(current):
    gcp = current[current.provider == "gcp"]
    # GCP bills an attached GPU per GPU-hour on top of the VM (its GPU SKUs); machine types
    # like a2-highgpu-1g include the GPUs and are whole instances.
    sku = gcp.price_unit_published == "gpu_hour"
    assert sku.any() and (~sku).any()
    assert set(gcp.loc[sku, "price_scope"]) == {"gpu_only"}
    assert "instance" in set(gcp.loc[~sku, "price_scope"])


def test_no_asic_or_tpu_is_ranked_as_a_gpu(datasets, current):
    per = pd.read_parquet(datasets / TFLOPS_FILE)
    assert (per.accelerator_kind.map(str) == per.gpu_model.map(accelerator_kind).map(str)).all()
    aws_chips = current[current.instance_type.str.match(r"^(inf|trn)\d")]
    assert len(aws_chips) and set(aws_chips.accelerator_kind) == {"asic"}
    for pricing in sorted(set(current.pricing_model)):
        for precision in PRECISIONS:
            rows = top(datasets, "--pricing", pricing, "--precision", precision)
            assert {r["accelerator_kind"] for r in rows} <= {"gpu", None}, (pricing, precision)


def _readme_snippet() -> str:
    block = re.search(r"## Using the data\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README: no pandas snippet under 'Using the data'"
    return block.group(1)


def test_readme_snippet_agrees_with_scrape_top(datasets, tmp_path, monkeypatch):
    (tmp_path / "datasets").symlink_to(datasets)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_readme_snippet(), "README.md", "exec"), namespace)
    snippet = namespace["cheapest"].dropna()
    assert len(snippet) >= 2  # several H100 providers in the example
    rows = [r for r in top(datasets, "--gpu", "H100", "--by", "gpu-hour") if r["rank"]]
    cli = pd.DataFrame(rows).groupby("provider").price_usd_per_gpu_hour.min().sort_values()
    # Same providers at the same prices, cheapest first; providers tied on a price (several
    # list H100 at $2.99) may come in either order, as sort_values does not keep ties stable.
    assert snippet.is_monotonic_increasing and cli.is_monotonic_increasing
    by_price = lambda s: sorted(zip(s.round(6), s.index.astype(str), strict=True))  # noqa: E731
    assert by_price(snippet) == by_price(cli)
