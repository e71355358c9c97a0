"""The Kubernetes deployment example stays in step with the code: every CronJob runs a
registered provider (or maintain), never twice at once, against the table URL setting."""

from __future__ import annotations

from pathlib import Path

import yaml

from scrapers.registry import PROVIDERS

MANIFEST = Path(__file__).resolve().parents[1] / "schedules" / "kubernetes" / "cronjobs.yaml"


def test_cronjobs_name_registered_providers_and_forbid_overlap():
    docs = list(yaml.safe_load_all(MANIFEST.read_text()))
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config["data"]["GPU_PRICES_TABLE_URL"].startswith("s3://")
    jobs = [d for d in docs if d["kind"] == "CronJob"]
    commands = []
    for job in jobs:
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        commands.append(container["args"])
        refs = [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e]
        assert refs == ["gpu-prices"]
    runs = [a for a in commands if a[0] == "run"]
    assert runs and all(len(a) == 2 and a[1] in PROVIDERS for a in runs)
    assert ["maintain", "--retention-hours", "168"] in commands
