"""The changes page (`changes.html`): the latest change events and the Atom feed."""

from __future__ import annotations

from html import escape

from pipelines.derive.changes import describe
from pipelines.site import PRICE_INDEX_PAGE
from pipelines.site.data import CHANGES_SHOWN
from pipelines.site.pages.base import Site, date_text, plain, txt


def render(site: Site) -> str:
    ev = site.d.changes
    feed = site.resource_path("atom") or "alerts.atom"
    feed_exists = (site.d.datasets_dir / feed).exists()
    feed_link = (
        f'<a href="{escape(site.data_href(feed, 0))}">Atom feed</a>'
        if feed_exists
        else "Atom feed (not published yet)"
    )
    if ev.empty:
        table = '<p class="empty">No change events yet: they appear from the second run of a provider.</p>'
    else:
        ev = ev.sort_values(["detected_at", "event_id"], ascending=[False, True]).head(
            CHANGES_SHOWN
        )
        rows = []
        for r in ev.to_dict("records"):
            r = {k: plain(v) for k, v in r.items()}
            pct = plain(r.get("change_pct"))
            cls = "" if pct is None else (" down" if pct < 0 else " up")
            pct_s = "–" if pct is None else f"{pct:+.1f}%"
            src = plain(r.get("source_url"))
            link = f'<a href="{escape(src)}" rel="noopener">source</a>' if src else "–"
            if r.get("event_type") == "index_changed":  # no provider: the index's section
                href = f"{PRICE_INDEX_PAGE}#{escape(str(r.get('index_id')))}"
                who = link = f'<a href="{href}">{escape(str(r.get("index_id")))} index</a>'
            else:
                who = site.provider_link(r["provider"])
            model = plain(r.get("gpu_model"))
            gpu = (
                f'<a href="{site.gpu_href(model)}">{escape(model)}</a>'
                if model in site.models
                else txt(model)
            )
            old, new = plain(r.get("old_value")), plain(r.get("new_value"))
            per = "/GPU-h" if r.get("price_unit") == "gpu_hour" else "/h"
            unit = f" {escape(str(r['currency']))}{per}" if r.get("currency") else ""
            rows.append(
                f'<tr class="event"><td>{date_text(r["detected_at"])}</td><td>{escape(str(r["event_type"]))}</td>'
                f"<td>{who}</td><td>{gpu}</td>"
                f"<td>{txt(r.get('pricing_model'))}</td><td>{txt(r.get('region'))}</td>"
                f"<td>{txt(r.get('instance_type'))}</td>"
                f"<td>{txt(old)} → {txt(new)}{unit}</td>"
                f'<td class="num{cls}">{pct_s}</td><td>{link}</td></tr>'
                f'<tr class="desc"><td colspan="10">{escape(describe(r))}</td></tr>'
            )
        table = (
            '<div class="table-wrap"><table class="changes"><thead><tr><th>Detected</th>'
            "<th>Event</th><th>Provider</th><th>GPU</th><th>Pricing</th><th>Region</th>"
            "<th>Instance</th><th>Old → new</th><th class=num>Change</th><th>Link</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    total = site.d.changes_total
    shown = f" (the latest {CHANGES_SHOWN:,} of {total:,})" if total > CHANGES_SHOWN else ""
    body = f"""
<h1>Recent price changes</h1>
<p class="lede">Change events between consecutive good runs of each provider{shown}, newest
first. Prices are whole-instance prices per hour in the provider's currency unless the event
says per GPU-hour. Follow them in a feed reader: {feed_link}.</p>
{table}
"""
    return site.layout("Changes", body, active="changes.html")
