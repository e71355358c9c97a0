"""`scrape site`: build the static report site from the published tables.

Input: the datasets directory (see pipelines/site/data.py). Output: a folder (default
`<datasets>/site/`) of plain HTML, one CSS and one JS file, with no request to any other
host, so it works from `file://` and any static host. Links to the published tables are
relative to where the site is written: host the datasets directory (the site is its
`site/` folder) and the downloads resolve.

The folder is rebuilt in a temporary sibling and swapped in, so a reader never sees a
half-written site.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.site import SITE_DIR, card
from pipelines.site import data as site_data
from pipelines.site import summary as history_summary
from pipelines.site.pages import Site, render_all
from pipelines.tables import BY_FILE, CATALOGUE

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass
class BuildResult:
    out_dir: Path
    pages: int
    offers: int
    gpu_pages: int


def published_tables(d: site_data.SiteData) -> list[dict]:
    """Every published file to link, one entry per table (a directory table lists its parts).

    Files and row counts come from datapackage.json (one resource per file), titles and
    descriptions from the catalogue (pipelines/tables.py); sizes from the files themselves.
    Without a datapackage.json, the catalogue's files that exist.
    """
    groups: dict[str, list[dict]] = {}
    for r in d.datapackage.get("resources") or []:
        path = r.get("path")
        if isinstance(path, str) and (d.datasets_dir / path).is_file():
            groups.setdefault(path.split("/")[0], []).append(r)
    if not groups:
        for t in CATALOGUE:
            p = d.datasets_dir / t.file
            files = sorted(p.glob("*.parquet")) if p.is_dir() else [p] if p.is_file() else []
            if files:
                groups[t.file] = [{"path": f.relative_to(d.datasets_dir).as_posix()} for f in files]
    out = []
    for top, resources in groups.items():
        table = BY_FILE.get(top)
        first = resources[0]
        paths = [r["path"] for r in resources]
        rows = [r.get("rows") for r in resources]
        out.append(
            {
                "name": table.name if table else first.get("name", top),
                "display": top,
                "paths": paths,
                "title": table.title if table else first.get("title", ""),
                "description": table.description if table else first.get("description", ""),
                "rows": None if None in rows else sum(rows),
                "bytes": sum((d.datasets_dir / p).stat().st_size for p in paths),
            }
        )
    return out


def publish(
    datasets_dir: Path, *, incremental: bool = True, now: datetime | None = None
) -> BuildResult:
    """After a publish: the dataset card, then the site in its default place, then the
    history's summary the next publish brings forward (`incremental`: from this one's, so
    a run reads only the versions changed since; see pipelines/site/summary.py)."""
    d = site_data.load(datasets_dir, incremental=incremental)
    card.write(datasets_dir, d, published_tables(d))
    result = build(datasets_dir, data=d, now=now)
    history_summary.save(d.history, datasets_dir)
    return result


def build(
    datasets_dir: Path,
    out_dir: Path | None = None,
    *,
    now: datetime | None = None,
    data: site_data.SiteData | None = None,
) -> BuildResult:
    datasets_dir = Path(datasets_dir).resolve()
    out = Path(out_dir).resolve() if out_dir else datasets_dir / SITE_DIR
    d = data or site_data.load(datasets_dir)

    def data_href(path: str, depth: int) -> str:
        base = out / "gpu" if depth else out
        return Path(os.path.relpath(datasets_dir / path, base)).as_posix()

    site = Site(d, data_href, now or datetime.now(UTC))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    try:
        (tmp / "gpu").mkdir(parents=True)
        shutil.copytree(ASSETS, tmp / "assets")
        pages = render_all(site, published_tables(d))
        for name, html in pages.items():
            (tmp / name).write_text(html, encoding="utf-8")
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildResult(
        out_dir=out, pages=len(pages), offers=len(d.current), gpu_pages=len(site.models)
    )


def _swap(tmp: Path, out: Path) -> None:
    """Put the new folder in place: old one renamed aside, new one renamed in, old removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
