"""The pages of the report site, one module per page; `base` holds what they share.

`render_all` gives every page's HTML by its path in the site folder.
"""

from __future__ import annotations

from pipelines.site import PRICE_INDEX_PAGE
from pipelines.site.data import slug
from pipelines.site.pages import changes, downloads, gpu, offers, price_index, value
from pipelines.site.pages.base import Site

__all__ = ["Site", "render_all"]


def render_all(site: Site, tables: list[dict]) -> dict[str, str]:
    pages = {
        "index.html": offers.render(site),
        "value.html": value.render(site),
        PRICE_INDEX_PAGE: price_index.render(site),
        "changes.html": changes.render(site),
        "downloads.html": downloads.render(site, tables),
    }
    for model in site.models:
        pages[f"gpu/{slug(model)}.html"] = gpu.render(site, model)
    return pages
