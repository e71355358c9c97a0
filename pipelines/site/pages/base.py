"""What every page of the report site shares: the layout (header, navigation, footer),
links, value formatting and the chart legend. Pages are HTML strings (no template engine:
they are simple, and stdlib `html.escape` on every value keeps them safe); every link is
relative, so the folder works from `file://` and from any static host.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import pandas as pd

from pipelines.site import PRICE_INDEX_PAGE
from pipelines.site.data import SiteData, slug
from pipelines.site.svg import PALETTE, StepSeries, money

SITE_TITLE = "Cloud GPU prices"
NAV = (
    ("index.html", "Offers"),
    ("value.html", "Value per PFLOP"),
    (PRICE_INDEX_PAGE, "Price index"),
    ("changes.html", "Changes"),
    ("downloads.html", "Downloads & methodology"),
)


def plain(value: object) -> object:
    """None for NaN/NA/NaT, Python scalars otherwise (JSON- and format-safe)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def num(value: object, digits: int = 2) -> str:
    v = plain(value)
    if v is None:
        return "–"
    if isinstance(v, float):
        if v.is_integer():
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".")
    return escape(str(v))


def date_text(value: object) -> str:
    v = plain(value)
    return "–" if v is None else pd.Timestamp(v).strftime("%Y-%m-%d")


def txt(value: object) -> str:
    v = plain(value)
    return "–" if v is None or v == "" else escape(str(v))


def provider_colors(providers: list[str]) -> dict[str, str]:
    """One colour per provider, the same on every page."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(sorted(providers))}


class Site:
    """Renders the pages of one SiteData; `data_href` maps a published file to a link."""

    def __init__(self, data: SiteData, data_href, built_at: datetime):
        self.d = data
        self.data_href = data_href  # (relative path in datasets dir, depth) -> href
        self.built_at = built_at
        self.colors = provider_colors(data.history.providers)
        models = data.current["gpu_model"].dropna().astype(str)
        self.models = sorted(set(models) | set(data.history.models), key=str.casefold)
        self._by_model: dict[str, dict[str, pd.DataFrame]] = {}

    def rows_of(self, table: str, model: str) -> pd.DataFrame:
        """The rows of `self.d.<table>` (current, specs) whose gpu_model is `model`,
        grouped once per table rather than filtered once per GPU page."""
        groups = self._by_model.get(table)
        frame = getattr(self.d, table)
        if groups is None:
            key = frame["gpu_model"].astype(str).where(frame["gpu_model"].notna())
            groups = {str(m): g for m, g in frame.groupby(key, sort=False, dropna=True)}
            self._by_model[table] = groups
        return groups.get(model, frame.iloc[:0])

    def layout(self, title: str, body: str, *, active: str = "", depth: int = 0) -> str:
        up = "../" * depth
        nav = "".join(
            f'<a href="{up}{href}"{" aria-current=page" if href == active else ""}>{label}</a>'
            for href, label in NAV
        )
        version = self.d.version or "unpublished"
        return (
            "<!doctype html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} · {SITE_TITLE}</title>"
            f'<link rel="stylesheet" href="{up}assets/style.css">'
            "</head><body>"
            f'<header><a class="brand" href="{up}index.html">{SITE_TITLE}</a><nav>{nav}</nav></header>'
            f"<main>{body}</main>"
            f"<footer>Dataset version <code>{escape(version)}</code> · data up to "
            f"{date_text(self.d.data_end)} · site built {self.built_at:%Y-%m-%d %H:%M} UTC · "
            f'data <a href="{up}downloads.html#license">CC BY 4.0</a>, code Apache-2.0</footer>'
            "</body></html>\n"
        )

    def gpu_href(self, model: str, depth: int = 0) -> str:
        return f"{'../' * depth}gpu/{slug(model)}.html"

    def provider_link(self, provider: str) -> str:
        page = self.d.provider_pages.get(provider, {}).get("pricing_page_url")
        if not page:
            return escape(provider)
        return (
            f'<a href="{escape(page)}" rel="noopener" title="pricing page">{escape(provider)} ↗</a>'
        )

    def resource_path(self, fmt: str) -> str | None:
        for r in self.d.datapackage.get("resources", []):
            if r.get("format") == fmt and isinstance(r.get("path"), str):
                return r["path"]
        return None


def legend(series: list[StepSeries]) -> str:
    """The chart's key: one line sample per series, its label and latest value."""
    items = []
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        last = next((v for _, v in reversed(s.points) if v is not None), None)
        now = f" {money(last)}" if last is not None and s.points[-1][1] is not None else ""
        items.append(
            f'<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" '
            f'y2="5" stroke="{s.color}" stroke-width="3"{dash}/></svg>{escape(s.label)}'
            f'<span class="note">{now}</span></li>'
        )
    return f'<ul class="legend">{"".join(items)}</ul>'
