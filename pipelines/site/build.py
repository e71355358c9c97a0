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

from pipelines.site import card
from pipelines.site import data as site_data
from pipelines.site.pages import Site

SITE_DIR = "site"
ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass
class BuildResult:
    out_dir: Path
    pages: int
    offers: int
    gpu_pages: int


def published_tables(d: site_data.SiteData) -> list[dict]:
    """Every published file to link, from datapackage.json (else the files present)."""
    out = []
    resources = d.datapackage.get("resources") or []
    for r in resources:
        paths = r["path"] if isinstance(r.get("path"), list) else [r.get("path")]
        paths = [p for p in paths if p and (d.datasets_dir / p).exists()]
        if not paths:
            continue
        display = paths[0].split("/")[0] if len(paths) > 1 else paths[0]
        out.append(
            {
                "name": r.get("name", display),
                "display": display,
                "paths": paths,
                "description": r.get("description") or r.get("title") or "",
                "rows": r.get("rows"),
                "bytes": r.get("bytes"),
            }
        )
    if out:
        return out
    for path in sorted(d.datasets_dir.glob("*.parquet")) + sorted(d.datasets_dir.glob("*.atom")):
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        rel = [f.relative_to(d.datasets_dir).as_posix() for f in files]
        out.append(
            {
                "name": path.name.split(".")[0],
                "display": path.name,
                "paths": rel,
                "description": "",
                "rows": None,
                "bytes": sum(f.stat().st_size for f in files),
            }
        )
    return out


def publish(datasets_dir: Path) -> BuildResult:
    """After a publish: the dataset card, then the site in its default place."""
    d = site_data.load(datasets_dir)
    card.write(datasets_dir, d, published_tables(d))
    return build(datasets_dir, data=d)


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
        pages = {
            "index.html": site.index(),
            "value.html": site.value(),
            "changes.html": site.changes(),
            "downloads.html": site.downloads(published_tables(d)),
        }
        for model in site.models:
            pages[f"gpu/{site_data.slug(model)}.html"] = site.gpu_page(model)
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
