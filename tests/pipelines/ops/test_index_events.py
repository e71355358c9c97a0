"""The price index's daily moves as change events: the rows of gpu_price_changes.parquet,
subscriptions filtered by index, and the mail as a real SMTP server (aiosmtpd) receives it.

Histories are constructed test fixtures (illustrative prices, see
tests/pipelines/derive/test_index.py); the index is published through the run's own step
(`events.publish_index`), two days in a row as two live runs would.
"""

from __future__ import annotations

import dataclasses

import feedparser
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.config import Config
from pipelines.derive import index as idx
from pipelines.derive.changes import CHANGES_NAME, read_events
from pipelines.notify import alerts, feed
from pipelines.ops import events
from pipelines.store.history import History
from tests.pipelines.derive.test_index import D1, frame, row
from tests.pipelines.notify.test_alerts import FROM, PUBLIC_URL, smtp_server

DAY = idx.DAY
D2 = D1 + DAY
START = D1 - 2 * DAY


def history(day2: bool) -> pd.DataFrame:
    """H100-SXM: a at 2.0 and b at 4.0 (index 3.0); on day 2 a cuts to 1.0 (index 2.5,
    -16.7%). A100-SXM-80GB: c moves 1.00 -> 1.005 on day 2 (+0.5%, under the 1% default).
    Observations up to an hour after the last day's end."""
    through = (D2 if day2 else D1) + DAY + pd.Timedelta(hours=1)
    cut = D2 + pd.Timedelta(hours=6)
    rows = [
        row("b", 4.0, valid_from=START, last_seen=through),
        row("a", 2.0, valid_from=START, valid_to=cut if day2 else None, last_seen=through),
        row("c", 1.0, model="A100", valid_from=START, valid_to=cut if day2 else None),
    ]
    rows[2]["last_seen_at"] = cut if day2 else through
    if day2:
        rows += [
            {**rows[1], "valid_from": cut, "valid_to": None, "price_usd_per_gpu_hour": 1.0},
            {**rows[2], "valid_from": cut, "valid_to": None, "price_usd_per_gpu_hour": 1.005},
        ]
        rows[3]["last_seen_at"] = rows[4]["last_seen_at"] = through
    return frame(*rows)


def config(tmp_path, port: int = 1, **env) -> Config:
    return Config.load(
        root=tmp_path,
        env={
            "GPU_PRICES_DATASETS_DIR": str(tmp_path / "datasets"),
            "GPU_PRICES_STATE_DIR": str(tmp_path / "state"),
            "GPU_PRICES_SMTP_HOST": "127.0.0.1",
            "GPU_PRICES_SMTP_PORT": str(port),
            "GPU_PRICES_SMTP_FROM": FROM,
            "GPU_PRICES_PUBLIC_URL": PUBLIC_URL,
            **env,
        },
    )


def two_days(cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    first = events.publish_index(history(day2=False), cfg, "v1")
    second = events.publish_index(history(day2=True), cfg, "v2")
    return first, second


def test_a_move_above_the_threshold_is_one_event_row(tmp_path):
    cfg = config(tmp_path)
    first, second = two_days(cfg)
    assert len(first) == 0  # the first day has no day before it
    table = read_events(cfg.datasets_dir / CHANGES_NAME)
    assert len(table) == len(second) == 1
    ev = table.iloc[0]
    assert ev["event_type"] == "index_changed"
    assert ev["index_id"] == "H100-SXM" and ev["pricing_model"] == "on_demand"
    assert ev["index_date"] == D2.date() and ev["gpu_model"] == "H100"
    assert (ev["old_price"], ev["new_price"]) == (3.0, 2.5)
    assert (ev["old_value"], ev["new_value"]) == ("3", "2.5")
    assert ev["change_pct"] == pytest.approx(-100 / 6)
    assert (ev["provider_count"], ev["offer_count"]) == (2, 2)
    assert ev["methodology_version"] == idx.CURRENT_VERSION
    assert (ev["currency"], ev["price_unit"], ev["to_version"]) == ("USD", "gpu_hour", "v2")
    assert pd.isna(ev["provider"]) and pd.isna(ev["offer_key"])
    # The published index says the same: the event restates two published days.
    index = pd.read_parquet(cfg.datasets_dir / idx.INDEX_FILE)
    sxm = index[(index["index_id"] == "H100-SXM") & (index["pricing_model"] == "on_demand")]
    assert list(sxm.sort_values("date")["value_usd_per_gpu_hour"]) == [3.0, 3.0, 3.0, 2.5]
    assert ev["detected_at"] == sxm["computed_through"].max()
    # Repeating the step records nothing twice.
    assert len(events.publish_index(history(day2=True), cfg, "v2")) == 0
    assert len(read_events(cfg.datasets_dir / CHANGES_NAME)) == 1
    # The feed entry names the index and links to its section of the site.
    parsed = feedparser.parse((cfg.datasets_dir / feed.FEED_NAME).read_bytes())
    (entry,) = parsed.entries
    assert entry.title == (
        "H100-SXM on_demand index 2026-03-03: 3 -> 2.5 USD/GPU-hour (-16.7%), 2 providers, "
        f"methodology {idx.CURRENT_VERSION}"
    )
    assert entry.link == f"{PUBLIC_URL}/site/price-index.html#H100-SXM"
    assert {t.term for t in entry.tags} == {"index_changed", "H100-SXM"}


def test_the_threshold_is_a_setting(tmp_path):
    cfg = config(tmp_path, GPU_PRICES_INDEX_MIN_CHANGE_PCT="0.4")
    _, second = two_days(cfg)
    assert sorted(second["index_id"]) == ["A100-SXM-80GB", "H100-SXM"]
    a100 = second[second["index_id"] == "A100-SXM-80GB"].iloc[0]
    assert a100["change_pct"] == pytest.approx(0.5)


def test_a_new_methodology_version_recomputes_without_events(tmp_path):
    cfg = config(tmp_path)
    old = dataclasses.replace(idx.CURRENT, version="0.9-test")
    idx.publish(history(day2=False), cfg.datasets_dir, methodology=old)
    # The current version recomputes the whole series, day 2 included: no moves raised.
    assert len(events.publish_index(history(day2=True), cfg, "v2")) == 0
    index = pd.read_parquet(cfg.datasets_dir / idx.INDEX_FILE)
    assert set(index["methodology_version"]) == {idx.CURRENT_VERSION}
    assert not (cfg.datasets_dir / CHANGES_NAME).exists()


def test_subscription_filter_by_index_and_the_mail_on_the_wire(tmp_path):
    with smtp_server() as (handler, port):
        cfg = config(tmp_path, port)
        engine = alerts.make_engine(alerts.database_url(cfg.state_dir))
        runner = CliRunner()
        env = {"GPU_PRICES_STATE_DIR": str(cfg.state_dir)}
        subscribe = ["alerts", "subscribe"]
        out = runner.invoke(
            app,
            [*subscribe, "sxm@example.org", "--index", "h100-sxm", "--min-change-pct", "5"],
            env=env,
        )
        assert out.exit_code == 0, out.output
        assert "index=H100-SXM min-change=5%" in out.output
        for args in (
            ["big@example.org", "--index", "H100-SXM", "--min-change-pct", "20"],
            ["a100@example.org", "--index", "A100-SXM-80GB"],
            ["aws@example.org", "--provider", "aws"],  # an index move has no provider
            ["gpu@example.org", "--gpu", "H100"],  # the index's GPU model matches
        ):
            assert runner.invoke(app, [*subscribe, *args], env=env).exit_code == 0
        subs = {s.email: s for s in alerts.list_subscribers(engine)}
        assert subs["sxm@example.org"].indexes == ["H100-SXM"]
        assert subs["sxm@example.org"].min_change_pct == 5.0

        two_days(cfg)
        report = alerts.deliver_pending(cfg)
        assert (report.messages_sent, report.error) == (2, None)
        by_rcpt = {rcpts[0]: msg for _, rcpts, msg in handler.messages}
        assert set(by_rcpt) == {"sxm@example.org", "gpu@example.org"}
        msg = by_rcpt["sxm@example.org"]
        assert msg["Subject"] == "GPU price alerts: 1 change (price index)"
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        url = f"{PUBLIC_URL}/site/price-index.html#H100-SXM"
        assert (
            "- price index H100-SXM on_demand 2026-03-03, 2 providers, methodology "
            f"{idx.CURRENT_VERSION} [H100]: 3 -> 2.5 USD/GPU-h -16.7%\n  index: {url}\n"
        ) in text
        html = msg.get_body(("html",)).get_content()
        assert "<td>3 -&gt; 2.5 USD/GPU-h</td><td>-16.7%</td>" in html
        assert f'<a href="{url}">index</a>' in html
        # The mail as it arrived on the wire: headers unfolded, one-click unsubscribe.
        raw = handler.raw[list(by_rcpt).index("sxm@example.org")]
        assert b"Subject: GPU price alerts: 1 change (price index)\r\n" in raw
        assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


def test_unknown_index_is_one_line_with_did_you_mean(tmp_path):
    env = {"GPU_PRICES_STATE_DIR": str(tmp_path / "state")}
    out = CliRunner().invoke(
        app, ["alerts", "subscribe", "x@example.org", "--index", "H100-SMX"], env=env
    )
    assert out.exit_code == 2
    assert out.output.strip() == "unknown price index 'H100-SMX' (did you mean 'H100-SXM'?)"
    assert not (tmp_path / "state" / alerts.DB_FILE).exists()


def test_a_database_from_before_index_filters_gains_the_column(tmp_path):
    import sqlalchemy as sa

    db = tmp_path / "old.sqlite"
    old = sa.create_engine(f"sqlite:///{db}")
    with old.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE alert_subscribers (id INTEGER PRIMARY KEY, email VARCHAR(320) "
                "NOT NULL UNIQUE, token VARCHAR(64) NOT NULL UNIQUE, providers_json TEXT, "
                "gpus_json TEXT, pricing_models_json TEXT, min_change_pct FLOAT, "
                "created_at DATETIME NOT NULL)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO alert_subscribers (email, token, created_at) "
                "VALUES ('old@example.org', 'abc', '2026-01-01 00:00:00')"
            )
        )
    old.dispose()
    engine = alerts.make_engine(f"sqlite:///{db}")
    (sub,) = alerts.list_subscribers(engine)
    assert (sub.email, sub.indexes, sub.filters_text()) == ("old@example.org", [], "all events")
    sub = alerts.subscribe(engine, "old@example.org", indexes=["L40S"])
    assert sub.indexes == ["L40S"] and sub.token == "abc"


class StoredHistory(History):
    """The history as a run's step gets it: the store, read through `read_all` (filtered
    like the view's read: versions open or ending at or after `ending_from`)."""

    def __init__(self, rows: pd.DataFrame):
        self.rows = rows
        self.reads: list[pd.Timestamp | None] = []

    def read_all(self, version=None, *, ending_from=None):
        self.reads.append(ending_from)
        if ending_from is None:
            return self.rows
        return self.rows[self.rows["valid_to"].isna() | (self.rows["valid_to"] >= ending_from)]


def test_a_run_reads_only_the_versions_its_new_days_need_and_publishes_the_same(tmp_path):
    whole, stored = config(tmp_path / "whole"), config(tmp_path / "stored")
    two_days(whole)
    first = StoredHistory(history(day2=False))
    events.publish_index(first, stored, "v1")
    assert first.reads == [None]  # nothing published yet: the whole history
    second = StoredHistory(history(day2=True))
    moves = events.publish_index(second, stored, "v2")
    # Day 1 is published: day 2 needs the versions in force at its end.
    assert second.reads == [D2 + DAY]
    assert len(second.read_all(ending_from=D2 + DAY)) < len(history(day2=True))
    for name in (idx.INDEX_FILE, idx.INPUTS_FILE):
        pd.testing.assert_frame_equal(
            pd.read_parquet(stored.datasets_dir / name), pd.read_parquet(whole.datasets_dir / name)
        )
    assert list(moves["index_id"]) == ["H100-SXM"]
    got, expected = (read_events(c.datasets_dir / CHANGES_NAME) for c in (stored, whole))
    pd.testing.assert_frame_equal(got, expected)


def test_without_any_indexable_offer_the_next_run_still_reads_only_recent_versions(tmp_path):
    """No form factor: nothing enters an index, so no day is ever published; the day the
    last publish considered is recorded beside the index instead. A publish by another
    path (the index file changed) makes the next run read the whole history again."""

    def unindexable(day2: bool) -> pd.DataFrame:
        rows = history(day2)
        return rows.assign(gpu_form_factor=None)

    whole, stored = config(tmp_path / "whole"), config(tmp_path / "stored")
    for day2 in (False, True):
        events.publish_index(unindexable(day2), whole, "v")
    first = StoredHistory(unindexable(day2=False))
    events.publish_index(first, stored, "v1")
    second = StoredHistory(unindexable(day2=True))
    events.publish_index(second, stored, "v2")
    assert first.reads == [None] and second.reads == [D2 + DAY]
    assert pd.read_parquet(stored.datasets_dir / idx.INDEX_FILE).empty
    for name in (idx.INDEX_FILE, idx.INPUTS_FILE):
        pd.testing.assert_frame_equal(
            pd.read_parquet(stored.datasets_dir / name), pd.read_parquet(whole.datasets_dir / name)
        )
    # Another path republishes the index (a replay's final step, here from other rows):
    # the record no longer describes it, the published days count.
    idx.publish(history(day2=False), tmp_path / "other")
    for name in (idx.INDEX_FILE, idx.INPUTS_FILE):
        (stored.datasets_dir / name).write_bytes((tmp_path / "other" / name).read_bytes())
    third = StoredHistory(history(day2=True))
    events.publish_index(third, stored, "v3")
    assert third.reads == [D2 + DAY]
    fourth = StoredHistory(history(day2=True))
    events.publish_index(fourth, config(tmp_path / "fresh"), "v4")
    assert fourth.reads == [None]  # nothing published there yet: the whole history
