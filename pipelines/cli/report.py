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
    """The run summary: one line per provider, then its problems on stderr.

    rows = new + changed + unchanged offers (ProviderResult.record_merge); removed offers
    were not seen this time. "-": the provider's data was not merged (failed, skipped,
    or already in the history), so the counts do not apply.
    """
    replay = report.trigger == "replay"
    multi = replay and any(r.runs > 1 for r in report.providers.values())
    cols = ["provider", "status", "rows", "new", "changed", "unchanged", "removed"]
    # Shown only when the gate kept rows out this run, so the usual summary fits 80 columns.
    held = any(r.quarantined_rows for r in report.providers.values())
    cols += ["quarantined"] if held else []
    cols += ["runs"] if multi else []
    cols += ["seconds"]
    caption = "rows = new + changed + unchanged offers; removed: offers no longer listed"
    if held:
        caption += "; quarantined: rows the gate kept out (gpu_quarantine.parquet)"
    if multi:
        caption += "; a replay adds up the archived runs it replayed (runs)"
    # No rules between columns: the summary fits 80 columns without cutting a provider's
    # name or a header (rich's boxes add a separator column each).
    t = Table(title=f"run {report.run_id} ({report.trigger})", caption=caption, box=None)
    widths = {"provider": max(map(len, report.providers), default=0)}
    for col in cols:
        t.add_column(
            col,
            justify="right" if col not in ("provider", "status") else "left",
            min_width=max(len(col), widths.get(col, 0)),
        )
    style = {
        "ok": "green",
        "failed": "red",
        "gate_failed": "red",
        "skipped": "yellow",
        "unchanged": "cyan",
    }
    for name, r in sorted(report.providers.items()):
        counts = (r.new_offers, r.changed_offers, r.unchanged_offers, r.removed_offers)
        t.add_row(
            name,
            f"[{style.get(r.status, '')}]{r.status}[/]",
            str(r.rows) if r.merged or r.rows else "-",
            *(str(c) if r.merged else "-" for c in counts),
            *([str(r.quarantined_rows)] if held else []),
            *([str(r.runs)] if multi else []),
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
    took = (
        f" in {(report.finished_at - report.started_at).total_seconds():.1f} s"
        if report.finished_at
        else ""
    )
    if report.dataset_version:
        console.print(f"published dataset version {report.dataset_version}{took}")
    else:
        console.print(f"nothing published (no provider produced new data){took}")
