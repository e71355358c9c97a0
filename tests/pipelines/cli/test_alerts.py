"""`scrape diff` on snapshot sequences and the `scrape alerts` commands.

Snapshots are observation files in the normalized schema written by the test. 32.7726 USD/h
for p4d.24xlarge and 98.32 USD/h for p5.48xlarge are AWS us-east-1 on-demand list prices
(the first from /work/shared/samples/aws/offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-
excerpt.json); the prices they move to are illustrative. Colab's free tier moving from K80
to T4 is reported in googlecolab/colabtools#661 (see FIELD-NOTES.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import alerts as cli_alerts
from pipelines.cli import diff as cli_diff
from pipelines.cli.common import OneLineErrors
from pipelines.ingest.normalize import frame_from_rows
from pipelines.notify import alerts
from tests.support.observations import observation

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def make_app() -> typer.Typer:
    app = typer.Typer(cls=OneLineErrors)  # as in pipelines/cli/main.py: bad input is one line

    @app.callback()
    def main() -> None:
        """Test app."""

    cli_diff.register(app)
    cli_alerts.register(app)
    return app


runner = CliRunner()


def row(
    instance_type,
    price,
    gpu_model,
    *,
    provider="aws",
    region="us-east-1",
    pricing_model="on_demand",
    gpu_count=8.0,
    n=0,
):
    return observation(
        instance_type,
        price,
        gpu_model,
        provider=provider,
        region=region,
        pricing_model=pricing_model,
        gpu_count=gpu_count,
        at=T0 + timedelta(days=n),
    )


def p4d(price=32.7726, n=0):
    return row("p4d.24xlarge", price, "A100", n=n)


def p5(price=98.32, n=0):
    return row("p5.48xlarge", price, "H100", n=n)


def g5(price=16.288, n=0):
    return row("g5.48xlarge", price, "A10G", n=n)


def snapshot(tmp_path, name, rows, fmt="parquet"):
    path = tmp_path / f"{name}.{fmt}"
    df = frame_from_rows(rows)
    if fmt == "parquet":
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False)
    return path


def diff(*paths, fmt="jsonl"):
    result = runner.invoke(make_app(), ["diff", *map(str, paths), "--format", fmt])
    events = (
        [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        if fmt == "jsonl"
        else []
    )
    return result, events


def test_real_price_change_is_one_event(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d(), p5()])
    s1 = snapshot(tmp_path, "s1", [p4d(21.96, n=1), p5(n=1)])
    result, events = diff(s0, s1)
    assert result.exit_code == 0, result.output
    assert len(events) == 1
    ev = events[0]
    assert ev["event_type"] == "price_changed" and ev["gpu_model"] == "A100"
    assert (ev["old_price"], ev["new_price"]) == (32.7726, 21.96)
    assert (ev["from_version"], ev["to_version"]) == ("s0.parquet", "s1.parquet")
    assert ev["detected_at"].startswith("2025-06-02T03:00:00")


def test_table_format(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d(), p5()])
    s1 = snapshot(tmp_path, "s1", [p4d(21.96, n=1), p5(n=1)])
    result, _ = diff(s0, s1, fmt="table")
    assert result.exit_code == 0
    assert "price_changed" in result.stdout
    assert (
        "aws A100 p4d.24xlarge us-east-1 on_demand: price 32.7726 -> 21.96 USD/h (-33.0%)"
        in result.stdout
    )


def test_empty_snapshot_fails_gate_and_removes_nothing(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d(), p5(), g5()])
    empty = snapshot(tmp_path, "empty", [])
    s2 = snapshot(tmp_path, "s2", [p4d(n=2), p5(n=2), g5(n=2)])
    s3 = snapshot(tmp_path, "s3", [p4d(n=3), p5(n=3), g5(n=3)])
    result, events = diff(s0, empty, empty, s2, s3)
    assert result.exit_code == 1
    assert "empty.parquet: gate failed: aws: zero rows" in result.stderr
    assert events == []


def test_offer_gone_for_one_snapshot_and_back_is_no_event(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d(), p5(), g5()])
    s1 = snapshot(tmp_path, "s1", [p4d(n=1), g5(n=1)])
    s2 = snapshot(tmp_path, "s2", [p4d(n=2), p5(n=2), g5(n=2)])
    result, events = diff(s0, s1, s2)
    assert result.exit_code == 0, result.output
    assert events == []
    # Gone for two snapshots: one removal (the offer and, being the only H100, the model).
    s3 = snapshot(tmp_path, "s3", [p4d(n=3), g5(n=3)])
    s4 = snapshot(tmp_path, "s4", [p4d(n=4), g5(n=4)])
    result, events = diff(s0, s1, s2, s3, s4)
    assert sorted(e["event_type"] for e in events) == ["gpu_model_removed", "offer_removed"]
    assert all(e["to_version"] == "s4.parquet" for e in events)


def test_duplicated_rows_do_not_flip_flop(tmp_path):
    linux, windows = p4d(), p4d(32.7726 + 3.68)
    s0 = snapshot(tmp_path, "s0", [p4d(), p5(), g5()])
    s1 = snapshot(tmp_path, "s1", [linux, windows, p5(n=1), g5(n=1)])
    s2 = snapshot(tmp_path, "s2", [windows, linux, p5(n=2), g5(n=2)], fmt="csv")
    s3 = snapshot(tmp_path, "s3", [p4d(n=3), p4d(n=3), p5(n=3), g5(n=3)])  # exact duplicate
    s4 = snapshot(tmp_path, "s4", [p4d(n=4), p5(n=4), g5(n=4)])
    result, events = diff(s0, s1, s2, s3, s4)
    assert events == []
    assert result.exit_code == 1
    for name in ("s1.parquet", "s2.csv", "s3.parquet"):
        assert f"{name}: gate failed: aws: 1 duplicate rows of an offer key" in result.stderr


def test_colab_free_tier_k80_to_t4_is_one_offer_gpu_changed(tmp_path):
    def colab(gpu, raw, n):
        r = row(
            "colab-free",
            0.0,
            gpu,
            provider="colab",
            region="global",
            pricing_model="free",
            gpu_count=1.0,
            n=n,
        )
        r.update(
            gpu_name_raw=raw,
            price_usd_per_gpu_hour=0.0,
            source_url="https://colab.research.google.com/",
        )
        return r

    s0 = snapshot(tmp_path, "colab0", [colab("K80", "Tesla K80", 0)], fmt="csv")
    s1 = snapshot(tmp_path, "colab1", [colab("K80", "Tesla K80", 1)], fmt="csv")
    s2 = snapshot(tmp_path, "colab2", [colab("T4", "Tesla T4", 2)], fmt="csv")
    s3 = snapshot(tmp_path, "colab3", [colab("T4", "Tesla T4", 3)], fmt="csv")
    result, events = diff(s0, s1, s2, s3)
    assert result.exit_code == 0, result.output
    assert [e["event_type"] for e in events] == ["offer_gpu_changed"]
    ev = events[0]
    assert (ev["provider"], ev["pricing_model"], ev["instance_type"]) == (
        "colab",
        "free",
        "colab-free",
    )
    assert (ev["old_gpu_model"], ev["gpu_model"], ev["to_version"]) == ("K80", "T4", "colab2.csv")


def test_diff_needs_two_snapshots(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d()])
    result = runner.invoke(make_app(), ["diff", str(s0)])
    assert result.exit_code == 2


@pytest.fixture
def alerts_env(tmp_path, monkeypatch):
    for var in ("GPU_PRICES_ALERTS_DB", "GPU_PRICES_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    return ["--state-dir", str(tmp_path / "state")]


def test_alerts_subscribe_list_unsubscribe(tmp_path, alerts_env):
    app = make_app()
    res = runner.invoke(
        app,
        [
            "alerts",
            "subscribe",
            "ada@example.org",
            "--gpu",
            "H100",
            "--provider",
            "aws",
            "--pricing",
            "on_demand",
            "--min-change-pct",
            "5",
            *alerts_env,
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        "subscribed ada@example.org (provider=aws gpu=H100 pricing=on_demand min-change=5%)"
        in res.stdout
    )
    res = runner.invoke(app, ["alerts", "subscribe", "not-an-address", *alerts_env])
    assert res.exit_code == 2 and "invalid e-mail address" in res.stderr
    res = runner.invoke(
        app, ["alerts", "subscribe", "x@example.org", "--pricing", "cheap", *alerts_env]
    )
    assert res.exit_code == 2

    res = runner.invoke(app, ["alerts", "list", *alerts_env])
    assert res.exit_code == 0 and "ada@example.org\tprovider=aws gpu=H100" in res.stdout
    engine = alerts.make_engine(alerts.database_url(tmp_path / "state"))
    token = alerts.list_subscribers(engine)[0].token
    assert token not in res.stdout  # tokens are never listed

    res = runner.invoke(app, ["alerts", "send", *alerts_env])
    assert res.exit_code == 0 and "sent 0 digest(s)" in res.stdout

    res = runner.invoke(app, ["alerts", "unsubscribe", "ada@example.org", *alerts_env])
    assert res.exit_code == 0
    res = runner.invoke(app, ["alerts", "unsubscribe", "ada@example.org", *alerts_env])
    assert res.exit_code == 1

    runner.invoke(app, ["alerts", "subscribe", "bob@example.org", *alerts_env])
    token = alerts.list_subscribers(engine)[0].token
    res = runner.invoke(app, ["alerts", "unsubscribe-token", token, *alerts_env])
    assert res.exit_code == 0 and "unsubscribed bob@example.org" in res.stdout
    assert alerts.list_subscribers(engine) == []
    engine.dispose()


def test_confirm_runs_option(tmp_path):
    s0 = snapshot(tmp_path, "s0", [p4d(), p5(), g5()])
    s1 = snapshot(tmp_path, "s1", [p4d(n=1), g5(n=1)])
    result = runner.invoke(
        make_app(), ["diff", str(s0), str(s1), "--format", "jsonl", "--confirm-runs", "1"]
    )
    assert result.exit_code == 0, result.output
    types = sorted(json.loads(line)["event_type"] for line in result.stdout.splitlines())
    assert types == ["gpu_model_removed", "offer_removed"]


def test_finding_12_subscribe_refuses_unknown_provider_and_gpu_names(tmp_path, alerts_env):
    app = make_app()
    res = runner.invoke(
        app, ["alerts", "subscribe", "a@example.org", "--provider", "awz", *alerts_env]
    )
    assert res.exit_code == 2
    assert res.stderr.strip() == "unknown provider 'awz' (did you mean 'aws'?)"
    res = runner.invoke(
        app, ["alerts", "subscribe", "a@example.org", "--gpu", "H9000", *alerts_env]
    )
    assert res.exit_code == 2
    assert res.stderr.startswith("unknown GPU model 'H9000'")
    assert len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["alerts", "subscribe", "a@example.org", "--gpu", "h100", *alerts_env])
    assert res.exit_code == 0 and "gpu=H100" in res.stdout  # the canonical spelling is kept
    res = runner.invoke(
        app, ["alerts", "subscribe", "a@example.org", "--pricing", "spto", *alerts_env]
    )
    assert res.exit_code == 2 and "(did you mean 'spot'?)" in res.stderr


def test_finding_08_alerts_send_flushes_the_queue_and_reports_what_is_left(
    tmp_path, alerts_env, monkeypatch
):
    """`alerts send` delivers on its own (no run needed) and counts mail it could not
    confirm instead of reporting it as gone."""
    import socket

    from aiosmtpd.controller import Controller

    from pipelines.derive.changes import events_frame

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GPU_PRICES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GPU_PRICES_SMTP_PORT", str(port))
    monkeypatch.setenv("GPU_PRICES_SMTP_FROM", "alerts@example.org")
    engine = alerts.make_engine(alerts.database_url(tmp_path / "state"))
    ada = alerts.subscribe(engine, "ada@example.org")
    alerts.subscribe(engine, "bob@example.org")
    ev = {"event_type": "offer_added", "provider": "aws", "pricing_model": "on_demand"}
    events = events_frame(
        [dict(ev, event_id=f"e{i}", detected_at=T0, to_version="v1") for i in (1, 2)]
    )
    alerts.enqueue(engine, events)
    # Ada's rows were claimed by a sender that died: their outcome is unknown.
    alerts._claim(engine, ada.id, T0)
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        res = runner.invoke(make_app(), ["alerts", "send", *alerts_env])
    finally:
        controller.stop()
    engine.dispose()
    assert res.exit_code == 0, res.output
    assert "sent 1 digest(s) with 2 event(s); 0 still queued; 0 refused; 2 unconfirmed" in (
        res.stdout
    )
    assert "--requeue-stuck-minutes" in res.stderr


def test_a_typo_in_the_settings_file_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from pipelines.cli.main import app

    (tmp_path / "gpu-prices.toml").write_text("[smtp]\nhots = 'mail.example.org'\n")
    monkeypatch.setenv("GPU_PRICES_ROOT", str(tmp_path))
    for args in (["alerts", "list"], ["versions"], ["schedule", "--list"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit)
        line = res.stderr.strip()
        assert line.endswith("gpu-prices.toml: unknown key 'smtp.hots' (did you mean 'host'?)"), (
            line
        )
        assert len(res.stderr.strip().splitlines()) == 1


def test_finding_12_alerts_list_uses_the_project_from_another_directory(tmp_path, monkeypatch):
    for var in ("GPU_PRICES_ROOT", "GPU_PRICES_CONFIG", "GPU_PRICES_ALERTS_DB"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "gpu-prices.toml").write_text('state_dir = "var/state"\n')
    engine = alerts.make_engine(alerts.database_url(tmp_path / "var" / "state"))
    alerts.subscribe(engine, "ada@example.org")
    engine.dispose()
    elsewhere = tmp_path / "sub" / "dir"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    res = runner.invoke(make_app(), ["alerts", "list"])
    assert res.exit_code == 0, res.output
    assert "ada@example.org" in res.stdout and "1 subscriber(s)" in res.stdout
    assert f"project root {tmp_path}" in res.stderr


def test_finding_12_alerts_commands_refuse_a_missing_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["alerts", "list"], ["alerts", "send"], ["alerts", "unsubscribe", "a@b.org"]):
        res = runner.invoke(make_app(), args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith(f"no alerts database at {tmp_path}"), res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created where the command ran
