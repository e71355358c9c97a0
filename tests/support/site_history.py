"""Published datasets for the site tests and benchmark.

`build`: a small multi-run dataset (price changes, a withdrawn offer that comes back,
overlapping offers of one provider, a single-observation series, change events).
`many_offers`: thousands of current offers in one run, for the index table at scale.

Constructed test data (prices are illustrative); built through the real publish path:
History.merge_and_publish, the derived tables, change detection and datapackage.json.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.derive import specs, tflops
from pipelines.ingest.normalize import frame_from_rows
from pipelines.ops import datapackage, events
from pipelines.schema import offer_key
from pipelines.store.atomic import file_sha256
from pipelines.store.history import History
from tests.support.observations import T0, observation

RUN_STEP = timedelta(days=10)

# provider -> runs (index) -> rows; None: the offer is absent from that run.
A100_AWS_ON_DEMAND = [32.7726, 32.7726, 30.0, 30.0]  # one price cut at run 2
A100_AWS_SPOT = [12.0, 11.0, None, 10.0]  # withdrawn at run 2, back at run 3
A100_VAST = [(1.1, 1.3), (1.0, 1.3), (1.0, 1.25), (0.95, 1.25)]  # two hosts, min shown
H100_GCP = 11.06  # only in the last run: a one-point series


def runs() -> list[dict[str, list[dict]]]:
    out = []
    for i in range(4):
        at = T0 + i * RUN_STEP
        aws = [observation(price=A100_AWS_ON_DEMAND[i], at=at)]
        if A100_AWS_SPOT[i] is not None:
            aws.append(observation(price=A100_AWS_SPOT[i], at=at, pricing_model="spot"))
        vast = [
            observation(
                f"1x A100 host{h}",
                price=p,
                provider="vastai",
                region="US",
                gpu_count=1.0,
                at=at,
                source_url="https://console.vast.ai/api/v0/bundles/",
            )
            for h, p in enumerate(A100_VAST[i])
        ]
        run = {"aws": aws, "vastai": vast}
        if i == 3:
            run["gcp"] = [
                observation(
                    "a3-highgpu-1g",
                    price=H100_GCP,
                    gpu_model="H100",
                    provider="gcp",
                    region="us-central1",
                    gpu_count=1.0,
                    at=at,
                    gpu_memory_gb=80.0,
                    gpu_form_factor="SXM",
                    source_url="https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus",
                )
            ]
        out.append(run)
    return out


def build(datasets: Path, after_run: Callable[[int], None] | None = None) -> History:
    """Publish the runs into `datasets` as `scrape run` would (no mail); `after_run(i)` is
    called after run i's publish (e.g. the site step of a run)."""
    history = History(datasets)
    state = datasets / ".state"
    for i, run in enumerate(runs()):
        obs = {p: frame_from_rows(rows) for p, rows in run.items()}
        pub = history.merge_and_publish(
            obs, enrich=specs.join_specs, enrich_key=file_sha256(specs.SPECS_CSV)
        )
        specs.publish_specs(datasets, pub.version)
        tflops.publish(history.read_current(), datasets, pub.version)
        events.process_run(
            obs,
            datasets_dir=datasets,
            state_dir=state,
            dataset_version=pub.version,
            detected_at=T0 + i * RUN_STEP,
            previous_dataset_version=pub.previous_version,
            db_url=f"sqlite:///{state / 'alerts.sqlite'}",
        )
        datapackage.write(datasets, history, pub.version)
        if after_run is not None:
            after_run(i)
    return history


PROVIDERS = ("aws", "azure", "gcp", "oracle", "vastai", "runpod", "lambdalabs", "vultr",
             "datacrunch", "scaleway")  # fmt: skip
PRICING = ("on_demand", "spot", "reserved_1y", "reserved_3y")


def many_offers(datasets: Path, n: int) -> Path:
    """A published dataset of `n` current offers (10 providers, 40 GPU models with specs,
    4 pricing models, deterministic prices): for the index table at scale."""
    models = sorted(specs.spec_models())[:40]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    per: dict[str, list[dict]] = {p: [] for p in PROVIDERS}
    for i in range(n):
        p, model, pricing = PROVIDERS[i % 10], models[(i // 10) % 40], PRICING[(i // 400) % 4]
        itype, region = f"{model.replace(' ', '-')}-x{i}", f"region-{i % 17}"
        count = float(1 << (i % 4))
        price = count * (0.2 + (i * 7919 % 1000) / 100)
        per[p].append(
            {
                "provider": p,
                "offer_key": offer_key(p, itype, region, None, pricing, None),
                "instance_type": itype,
                "region": region,
                "pricing_model": pricing,
                "gpu_name_raw": model,
                "gpu_model": model,
                "gpu_count": count,
                "currency": "USD",
                "price_per_hour": price,
                "price_usd_per_hour": price,
                "price_usd_per_gpu_hour": price / count,
                "observed_at": at,
                "source_url": "https://example.invalid/prices",
                "snapshot_sha256": "0" * 64,
            }
        )
    history = History(datasets)
    pub = history.merge_and_publish(
        {p: frame_from_rows(rows) for p, rows in per.items() if rows},
        enrich=specs.join_specs,
        enrich_key=file_sha256(specs.SPECS_CSV),
    )
    tflops.publish(history.read_current(), datasets, pub.version)
    return datasets
