"""What a run did, per provider: the object the CLI summary, the run log and the scheduler share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from pipelines.ingest.gate import Finding

# Provider outcomes. Only "ok" changes the history for that provider.
OK = "ok"
FAILED = "failed"  # fetch or parse failed
GATE_FAILED = "gate_failed"  # parsed, but the gate refused to publish it
SKIPPED = "skipped"  # by design (no API key): not a failure
UNCHANGED = "unchanged"  # every source answered "not modified"; nothing to parse


@dataclass
class ProviderResult:
    provider: str
    status: str
    rows: int = 0
    new_offers: int = 0
    changed_offers: int = 0
    unchanged_offers: int = 0
    removed_offers: int = 0
    # Rows the gate kept out (gpu_quarantine.parquet); the provider published the rest.
    quarantined_rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # The gate's findings; str(finding) is its one line for the summary and the run log.
    gate_findings: list[Finding] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    responses: int = 0
    observed_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, GATE_FAILED)


@dataclass
class RunReport:
    run_id: str
    trigger: str  # manual | schedule | replay
    started_at: datetime
    finished_at: datetime | None = None
    dataset_version: str | None = None  # None when nothing was published
    previous_dataset_version: str | None = None
    providers: dict[str, ProviderResult] = field(default_factory=dict)
    # GPU names no spec row matched, and other run-level notes for the summary.
    unmatched_gpus: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ProviderResult]:
        return [p for p in self.providers.values() if p.failed]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict:
        return asdict(self)
