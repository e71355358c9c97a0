"""A scheduled run that crashes is recorded in the run log without the secrets its
exception text may carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from pipelines.ops import schedule


def test_crash_record_is_scrubbed(tmp_path):
    exc = RuntimeError(
        "GET https://cloudbilling.googleapis.com/v1/skus?key=AIzaSyLIVE123456 failed"
    )
    schedule._record_crash(tmp_path, ["gcp"], exc, datetime(2026, 11, 27, tzinfo=UTC))
    runs = pd.read_parquet(tmp_path / "gpu_runs.parquet")
    error = runs["error"].astype(str).item()
    assert "AIzaSyLIVE123456" not in error and "key=REDACTED" in error
    assert error.startswith("scheduled run crashed: RuntimeError")
