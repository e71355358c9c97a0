"""The public Python API, as a user calls it: the README's examples run after README
command 1, `cheapest` agrees with `scrape top --json`, and `load`/`changes` filter the
published tables the way the README's pandas recipes do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import gpu_prices
from pipelines.cli.main import app
from tests.support import site_history
from tests.support.observations import T0

ROOT = Path(__file__).parents[2]


def _readme_api_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _run(code: str, datasets: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GPU_PRICES_DATASETS_DIR": str(datasets)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_every_readme_example_runs(example_datasets, tmp_path):
    blocks = _readme_api_blocks()
    assert len(blocks) == 3
    for code in blocks:
        result = _run(code, example_datasets, tmp_path)
        assert result.returncode == 0, f"{code}\n{result.stderr}"
        assert result.stdout.strip(), code


def _top_json(datasets: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["top", *args, "--json", "--datasets", str(datasets)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cheapest_is_what_scrape_top_lists(example_datasets, tmp_path):
    cli = _top_json(example_datasets, "--gpu", "H100", "--by", "gpu-hour")
    assert len(cli) >= 2
    api = gpu_prices.cheapest(gpu="H100", datasets=example_datasets)
    assert list(api["offer_key"]) == [r["offer_key"] for r in cli]
    assert list(api["rank"].astype(object).where(api["rank"].notna(), None)) == [
        r["rank"] for r in cli
    ]
    # README command: the same from a shell, through the environment's datasets directory.
    one_liner = "import gpu_prices; print(gpu_prices.cheapest(gpu='H100').head())"
    readme = (ROOT / "README.md").read_text()
    assert f'python -c "{one_liner}"' in readme
    result = _run(one_liner, example_datasets, tmp_path)
    assert result.returncode == 0, result.stderr
    # The first printed row is the cheapest offer (pandas elides middle columns).
    assert result.stdout.splitlines()[1].split()[:3] == [
        "0",
        str(cli[0]["rank"]),
        cli[0]["provider"],
    ]
    # Ranked on USD per PFLOP-hour too, with any option scrape top has.
    cli = _top_json(example_datasets, "--pricing", "spot", "--precision", "bf16", "-n", "5")
    api = gpu_prices.cheapest(
        pricing="spot", by="pflop_hour", precision="bf16", n=5, datasets=example_datasets
    )
    assert list(api["offer_key"]) == [r["offer_key"] for r in cli]


def test_cheapest_rejects_unknown_choices(example_datasets):
    with pytest.raises(ValueError, match="scope: unknown"):
        gpu_prices.cheapest(scope="whole", datasets=example_datasets)
    with pytest.raises(ValueError, match="by='hour'"):
        gpu_prices.cheapest(by="hour", datasets=example_datasets)
    with pytest.raises(ValueError, match="precision='fp4'"):
        gpu_prices.cheapest(precision="fp4", datasets=example_datasets)


def test_load_current_as_of_provider_and_gpu(tmp_path):
    datasets = tmp_path / "datasets"
    site_history.build(datasets)
    raw = pd.read_parquet(datasets / "gpu_prices.parquet")
    everything = gpu_prices.load(datasets=datasets)
    assert len(everything) == len(raw) == 11
    assert everything["provider"].dtype == object  # plain strings, not categoricals
    now = gpu_prices.load(current=True, datasets=datasets)
    assert sorted(now["price_usd_per_gpu_hour"].round(4)) == [0.95, 1.25, 1.25, 3.75, 11.06]
    # As of the third run: AWS spot was withdrawn then, the on-demand price already cut.
    mid = gpu_prices.load(as_of=T0 + 2 * site_history.RUN_STEP, provider="aws", datasets=datasets)
    assert list(mid["pricing_model"]) == ["on_demand"]
    assert mid["price_usd_per_gpu_hour"].round(4).tolist() == [3.75]
    before = gpu_prices.load(as_of="2025-05-01", datasets=datasets)
    assert before.empty
    h100 = gpu_prices.load(current=True, gpu="nvidia-h100-80gb", datasets=datasets)
    assert list(h100["provider"]) == ["gcp"]
    with pytest.raises(ValueError, match="not both"):
        gpu_prices.load(current=True, as_of="2025-06-01", datasets=datasets)
    with pytest.raises(FileNotFoundError, match="run `scrape run --all` first"):
        gpu_prices.load(datasets=tmp_path / "nothing")


def test_changes_since_a_date_or_a_duration(tmp_path):
    datasets = tmp_path / "datasets"
    site_history.build(datasets)
    events = gpu_prices.changes(datasets=datasets)
    assert len(events) == 6
    assert events["detected_at"].is_monotonic_increasing
    late = gpu_prices.changes(since="2025-06-21", datasets=datasets)
    assert len(late) == 4 and late["detected_at"].min() == T0 + 2 * site_history.RUN_STEP
    assert len(gpu_prices.changes(since="2025-06-21", provider="aws", datasets=datasets)) == 2
    assert gpu_prices.changes(since=timedelta(days=1), datasets=datasets).empty  # all old
