"""What a run did, per provider: the object the CLI summary, the run log and the scheduler share."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the gate imports pandas; `scrape --help` imports this module
    from pipelines.ingest.gate import Finding

# Provider outcomes. Only "ok" changes the history for that provider.
OK = "ok"
FAILED = "failed"  # fetch or parse failed
GATE_FAILED = "gate_failed"  # parsed, but the gate refused to publish it
SKIPPED = "skipped"  # by design (no API key): not a failure
UNCHANGED = "unchanged"  # every source answered "not modified"; nothing to parse


@dataclass
class ProviderResult:
    """One provider's outcome in a run.

    `rows` and the offer counts agree by construction once the provider's data is merged
    (`record_merge`): rows = new + changed + unchanged offers; `removed` offers were not
    seen and are counted apart. Before a merge (failed, gate_failed, skipped, or observations
    already in the history) `rows` is what was parsed and `merged` is False: the counts do
    not apply. A replay over several archived runs adds them up (`absorb`); `runs` says how
    many runs were replayed. `seconds` is this provider's wall time: its fetch (or archive
    read), parse and gate, and the merge/publish step its data went through.
    """

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
    observed_at: datetime | None = None  # newest observation (response fetch) time parsed
    merged: bool = False
    runs: int = 1

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, GATE_FAILED)

    def record_merge(self, new: int, changed: int, unchanged: int, removed: int) -> None:
        """What merging this provider's observations did; sets `rows` to match."""
        self.new_offers, self.changed_offers = new, changed
        self.unchanged_offers, self.removed_offers = unchanged, removed
        self.rows = new + changed + unchanged
        self.merged = True

    def absorb(self, earlier: ProviderResult) -> None:
        """Fold in the result of an earlier replayed run of the same provider."""
        self.runs += earlier.runs
        self.seconds += earlier.seconds
        self.responses += earlier.responses
        if self.observed_at is None:
            self.observed_at = earlier.observed_at
        if not earlier.merged:
            return
        if not self.merged:
            # Only merged runs count (the latest status and error still show).
            self.new_offers = self.changed_offers = self.unchanged_offers = 0
            self.removed_offers = self.rows = 0
            self.merged = True
        self.new_offers += earlier.new_offers
        self.changed_offers += earlier.changed_offers
        self.unchanged_offers += earlier.unchanged_offers
        self.removed_offers += earlier.removed_offers
        self.rows += earlier.rows


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


def one_line(exc: BaseException) -> str:
    """An error as the one line a report shows for it."""
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def new_run_id(now: datetime | None = None) -> str:
    """A run's id: its start time (sortable) and a random suffix (two runs in one second)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
