"""The run summary printed by `scrape run` and `scrape schedule --once`.

Its own module so both command modules import it from below (no main <-> schedule cycle).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pipelines.ops.report import RunReport

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def print_report(report: RunReport) -> None:
    t = Table(title=f"run {report.run_id} ({report.trigger})")
    cols = ("provider", "status", "rows", "new", "changed", "unchanged", "removed")
    for col in (*cols, "quarantined", "seconds"):
        t.add_column(col, justify="right" if col not in ("provider", "status") else "left")
    style = {
        "ok": "green",
        "failed": "red",
        "gate_failed": "red",
        "skipped": "yellow",
        "unchanged": "cyan",
    }
    for name, r in sorted(report.providers.items()):
        t.add_row(
            name,
            f"[{style.get(r.status, '')}]{r.status}[/]",
            str(r.rows),
            str(r.new_offers),
            str(r.changed_offers),
            str(r.unchanged_offers),
            str(r.removed_offers),
            str(r.quarantined_rows),
            f"{r.seconds:.1f}",
        )
    console.print(t)
    for name, r in sorted(report.providers.items()):
        if r.failed:
            err.print(
                f"[red]FAILED[/] {r.error}"
                if r.error and r.error.startswith(name)
                else f"[red]FAILED[/] {name}: {r.error}"
            )
        elif r.status == "skipped" and r.error:
            err.print(f"[yellow]skipped[/] {r.error}")
        else:
            # Rows kept out while the rest published: one line per gate finding.
            for f in r.gate_findings:
                err.print(f"[yellow]quarantined[/] {f}")
        if r.unknown:
            err.print(f"[yellow]unknown[/] {name}: {', '.join(sorted(set(r.unknown))[:20])}")
        if r.warnings:
            err.print(
                f"[dim]{name}: {len(r.warnings)} rows skipped/warnings (first: {r.warnings[0]})[/]"
            )
    if report.unmatched_gpus:
        err.print(f"[yellow]GPUs without a spec row[/]: {', '.join(report.unmatched_gpus)}")
    for note in report.notes:
        err.print(f"[yellow]note[/] {note}")
    if report.dataset_version:
        console.print(f"published dataset version {report.dataset_version}")
    else:
        console.print("nothing published (no provider produced new data)")
