"""Alerts end to end with a real SMTP server on 127.0.0.1 (aiosmtpd): subscriptions, the
outbox (at most once, SMTP down then up), unsubscribe tokens, filters and mail safety.

Observations are built in the normalized schema; 32.7726 USD/h for p4d.24xlarge is from
/work/shared/samples/aws/offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-excerpt.json, the
other prices are illustrative test values.
"""

from __future__ import annotations

import email
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from pipelines.config import Config
from pipelines.derive.changes import events_frame
from pipelines.ingest.normalize import frame_from_rows
from pipelines.notify import alerts
from pipelines.ops.events import process_run
from tests.support.observations import observation

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
P4D = 32.7726
FROM = "alerts@gpu-prices.example.org"
PUBLIC_URL = "https://gpu-prices.example.org"


def row(
    instance_type="p4d.24xlarge",
    price=P4D,
    gpu_model="A100",
    gpu_count=8.0,
    region="us-east-1",
    pricing_model="on_demand",
    provider="aws",
):
    r = observation(
        instance_type,
        price,
        gpu_model,
        gpu_count=gpu_count,
        region=region,
        pricing_model=pricing_model,
        provider=provider,
    )
    # Digest tests read only the published price: no USD columns, as in a EUR-less run.
    del r["price_usd_per_hour"], r["price_usd_per_gpu_hour"]
    return r


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.raw: list[bytes] = []  # the DATA exactly as received
        self.refuse: set[str] = set()
        self.hang_up_after_data = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_up_after_data:
            # The message arrived, but the client never hears "250": an unknown outcome.
            server.transport.close()
        self.raw.append(envelope.original_content or envelope.content)
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=default_policy
        )
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(**options):
    """A real SMTP server (aiosmtpd) on 127.0.0.1 collecting what it receives."""
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


class Site:
    """A data directory, its alerts DB and the environment a run sees."""

    def __init__(self, tmp_path, port: int) -> None:
        self.datasets = tmp_path / "datasets"
        self.state = tmp_path / "state"
        self.env = {
            "GPU_PRICES_SMTP_HOST": "127.0.0.1",
            "GPU_PRICES_SMTP_PORT": str(port),
            "GPU_PRICES_SMTP_FROM": FROM,
            "GPU_PRICES_PUBLIC_URL": PUBLIC_URL,
            "GPU_PRICES_DATASETS_DIR": str(self.datasets),
            "GPU_PRICES_STATE_DIR": str(self.state),
        }
        self.config = Config.load(root=tmp_path, env=self.env)
        self.engine = alerts.make_engine(alerts.database_url(self.state))

    def run(self, n: int, *rows: dict):
        return process_run(
            {"aws": frame_from_rows(list(rows))},
            datasets_dir=self.datasets,
            state_dir=self.state,
            dataset_version=f"v{n}",
            detected_at=T0 + timedelta(hours=n),
            previous_dataset_version=None,
            config=self.config,
        )

    def deliver(self):
        return alerts.deliver_pending(self.config)

    def price_change(self):
        """Two runs: p4d.24xlarge from 32.7726 to 21.96 USD/h (one price_changed event)."""
        self.run(0, row())
        self.run(1, row(price=21.96))


def test_price_change_gives_exactly_one_digest_with_headers(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    sub = alerts.subscribe(site.engine, "Ada@Example.org")
    site.run(0, row())
    assert site.deliver().messages_sent == 0
    site.run(1, row(price=21.96))
    report = site.deliver()
    assert (report.messages_sent, report.events_sent, report.error) == (1, 1, None)
    assert len(handler.messages) == 1
    mail_from, rcpts, msg = handler.messages[0]
    assert mail_from == FROM and rcpts == ["Ada@example.org"]
    assert msg["To"] == "Ada@example.org"
    assert msg["Subject"] == "GPU price alerts: 1 change (aws)"
    unsub = f"{PUBLIC_URL}/alerts/unsubscribe?token={sub.token}"
    assert msg["List-Unsubscribe"] == f"<{unsub}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert "aws p4d.24xlarge us-east-1 on_demand [A100]: 32.7726 -> 21.96 USD/h -33.0%" in text
    # People get the provider's pricing page, not the API URL the price was read from.
    assert "prices: https://aws.amazon.com/ec2/pricing/on-demand/" in text and unsub in text
    assert "pricing.us-east-1.amazonaws.com" not in text
    assert "<td>32.7726 -&gt; 21.96 USD/h</td><td>-33.0%</td>" in html_part
    assert 'href="https://aws.amazon.com/ec2/pricing/on-demand/"' in html_part

    # The run repeated (same observations): nothing new is queued or sent.
    site.run(1, row(price=21.96))
    assert site.deliver().messages_sent == 0
    assert len(handler.messages) == 1
    assert alerts.outbox_counts(site.engine) == {"sent": 1}


def test_deliver_pending_takes_settings_from_the_settings_file(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    (tmp_path / "gpu-prices.toml").write_text(
        f'state_dir = "state"\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "{FROM}"\n'
    )
    config = Config.load(root=tmp_path, env={})
    assert config.state_dir == site.state
    alerts.subscribe(site.engine, "ada@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    assert alerts.deliver_pending(config=config).messages_sent == 1
    assert len(handler.messages) == 1


def test_smtp_down_then_up_delivers_once(tmp_path):
    port = free_port()
    site = Site(tmp_path, port)
    alerts.subscribe(site.engine, "ada@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    down = site.deliver()  # nothing listens on the port
    assert down.messages_sent == 0 and down.still_queued == 1 and "unreachable" in down.error
    assert alerts.outbox_counts(site.engine) == {"queued": 1}

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        site.run(2, row(price=21.96))  # the next run has no new events; the queue goes out
        assert site.deliver().messages_sent == 1
        assert site.deliver().messages_sent == 0
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert "21.96" in handler.messages[0][2].get_body(("plain",)).get_content()


def test_claimed_but_unconfirmed_is_not_resent_unless_requeued(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    sub = alerts.subscribe(site.engine, "ada@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    # A sender killed after claiming (between "intent" and "sent"): at most once.
    assert len(alerts._claim(site.engine, sub.id, T0)) == 1
    assert site.deliver().messages_sent == 0 and handler.messages == []
    assert alerts.requeue_stuck(site.engine, timedelta(minutes=10)) == 1
    assert site.deliver().messages_sent == 1


def test_connection_lost_after_data_is_never_resent(tmp_path, smtp):
    handler, port = smtp
    handler.hang_up_after_data = True
    site = Site(tmp_path, port)
    alerts.subscribe(site.engine, "ada@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    report = site.deliver()
    assert report.messages_sent == 0 and "unconfirmed" in report.error
    assert alerts.outbox_counts(site.engine) == {"sending": 1}
    handler.hang_up_after_data = False
    assert site.deliver().messages_sent == 0
    assert len(handler.messages) == 1  # it did arrive once, and only once


def test_unsubscribe_token_stops_mail(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    alerts.subscribe(site.engine, "ada@example.org")
    alerts.subscribe(site.engine, "bob@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    site.deliver()
    assert sorted(m[1][0] for m in handler.messages) == ["ada@example.org", "bob@example.org"]
    ada_mail = next(m[2] for m in handler.messages if m[1] == ["ada@example.org"])
    link = ada_mail["List-Unsubscribe"].strip("<>")
    token = parse_qs(urlsplit(link).query)["token"][0]

    app = alerts.make_unsubscribe_app(site.engine)

    def call(method: str, body: bytes = b""):
        status = []
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": urlsplit(link).path,
            "QUERY_STRING": urlsplit(link).query,
            "wsgi.input": BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
        out = b"".join(app(environ, lambda s, h: status.append(s)))
        return status[0], out

    # A link scanner's GET does not unsubscribe; the RFC 8058 one-click POST does.
    assert call("GET")[0] == "200 OK"
    assert [s.email for s in alerts.list_subscribers(site.engine)] == [
        "ada@example.org",
        "bob@example.org",
    ]
    status, page = call("POST", b"List-Unsubscribe=One-Click")
    assert status == "200 OK" and b"ada@example.org is unsubscribed" in page
    assert alerts.unsubscribe_token(site.engine, token) is None  # token is spent

    handler.messages.clear()
    site.run(2, row(price=19.5))
    site.deliver()
    assert [m[1] for m in handler.messages] == [["bob@example.org"]]


def test_one_click_post_on_a_real_server_and_no_token_in_logs(tmp_path, capfd):
    import threading
    import urllib.request

    engine = alerts.make_engine(alerts.database_url(tmp_path))
    sub = alerts.subscribe(engine, "ada@example.org")
    server = alerts.make_unsubscribe_server(engine, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = alerts.unsubscribe_url(f"http://127.0.0.1:{server.server_port}", sub.token)
        req = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert alerts.list_subscribers(engine) == []
    err = capfd.readouterr().err
    assert '"POST /alerts/unsubscribe" 200' in err and sub.token not in err


def test_filter_gets_only_matching_events(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    alerts.subscribe(site.engine, "h100@example.org", gpus=["h100"], min_change_pct=5.0)
    alerts.subscribe(site.engine, "all@example.org")
    p5 = dict(instance_type="p5.48xlarge", gpu_model="H100")
    p5_west = dict(p5, region="us-west-2")
    site.run(0, row(), row(price=98.32, **p5), row(price=98.32, **p5_west))
    site.run(
        1,
        row(price=21.96),  # A100 -33%: wrong GPU
        row(price=55.04, **p5),  # H100 -44%: match
        row(price=96.35, **p5_west),  # H100 -2%: below 5%
        row(price=84.8, instance_type="p5en.48xlarge", gpu_model="H100"),
    )  # added: match
    site.deliver()
    by_rcpt = {m[1][0]: m[2] for m in handler.messages}
    h100_text = by_rcpt["h100@example.org"].get_body(("plain",)).get_content()
    assert "98.32 -> 55.04" in h100_text and "p5en.48xlarge" in h100_text
    assert "21.96" not in h100_text and "96.35" not in h100_text
    assert by_rcpt["h100@example.org"]["Subject"] == "GPU price alerts: 2 changes (aws)"
    assert by_rcpt["all@example.org"]["Subject"] == "GPU price alerts: 4 changes (aws)"


def test_recipient_refused_is_failed_not_retried(tmp_path, smtp):
    handler, port = smtp
    handler.refuse.add("gone@example.org")
    site = Site(tmp_path, port)
    alerts.subscribe(site.engine, "gone@example.org")
    site.run(0, row())
    site.run(1, row(price=21.96))
    report = site.deliver()
    assert report.messages_sent == 0 and report.failed == 1
    assert alerts.outbox_counts(site.engine) == {"failed": 1}
    assert site.deliver().failed == 0


def test_addresses_validated_and_resubscribe_updates_filters(tmp_path):
    engine = alerts.make_engine(alerts.database_url(tmp_path))
    with pytest.raises(alerts.AlertsError):
        alerts.subscribe(engine, "not-an-address")
    with pytest.raises(alerts.AlertsError):
        alerts.subscribe(engine, "ada@example.org\r\nBcc: evil@example.com")
    first = alerts.subscribe(engine, "ada@example.org", providers=["aws"])
    again = alerts.subscribe(engine, "ada@example.org", gpus=["H100"])
    assert again.token == first.token and len(first.token) >= 40
    assert (again.providers, again.gpus) == ([], ["H100"])
    assert "token" not in repr(again) or first.token not in repr(again)
    assert alerts.unsubscribe(engine, "ada@example.org") is True
    assert alerts.unsubscribe(engine, "ada@example.org") is False


def test_provider_strings_cannot_inject_headers_or_html():
    sub = alerts.Subscriber(
        id=1,
        email="ada@example.org",
        token="tok",
        providers=[],
        gpus=[],
        pricing_models=[],
        min_change_pct=None,
    )
    ev = events_frame(
        [
            {
                "event_id": "e1",
                "event_type": "price_changed",
                "provider": "evil\r\nBcc: victim@example.com",
                "offer_key": "k",
                "pricing_model": "on_demand",
                "region": "r",
                "instance_type": "<img src=x onerror=alert(1)>",
                "gpu_model": "H100",
                "old_value": "1",
                "new_value": "2",
                "old_price": 1.0,
                "new_price": 2.0,
                "change_pct": 100.0,
                "currency": "USD",
                "detected_at": T0,
                "to_version": "v1",
                "source_url": "javascript:alert(1)",
            }
        ]
    ).to_dict("records")
    msg = alerts.build_digest(sub, ev, from_addr=FROM, public_url=PUBLIC_URL, now=T0)
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"] and "evil Bcc: victim@example.com" in parsed["Subject"]
    html_part = parsed.get_body(("html",)).get_content()
    assert "<img" not in html_part and "&lt;img src=x onerror=alert(1)&gt;" in html_part
    assert "javascript:" not in html_part


def test_smtp_not_configured_keeps_mail_queued(tmp_path):
    engine = alerts.make_engine(alerts.database_url(tmp_path))
    alerts.subscribe(engine, "ada@example.org")
    ev = events_frame(
        [
            {
                "event_id": "e1",
                "event_type": "offer_added",
                "provider": "aws",
                "pricing_model": "on_demand",
                "detected_at": T0,
                "to_version": "v1",
            }
        ]
    )
    assert alerts.enqueue(engine, ev) == 1
    assert alerts.enqueue(engine, ev) == 0
    report = alerts.deliver(engine, None)
    assert report.still_queued == 1 and "not configured" in report.error
    assert alerts.SmtpSettings.from_config(Config.load(root=tmp_path, env={}).smtp) is None
    env = {
        "GPU_PRICES_SMTP_HOST": "mail.example.org",
        "GPU_PRICES_SMTP_STARTTLS": "true",
        "GPU_PRICES_SMTP_USER": "u@example.org",
        "GPU_PRICES_SMTP_PASSWORD": "s3cret",
    }
    settings = alerts.SmtpSettings.from_config(Config.load(root=tmp_path, env=env).smtp)
    assert settings.port == 587 and settings.from_addr == "u@example.org"
    assert "s3cret" not in repr(settings)


def test_finding_13_mail_text_never_shows_nan():
    sub = alerts.Subscriber(1, "ada@example.org", "tok", [], [], [], None)
    # An event payload as pandas hands it over: NaN for missing values, a float count.
    ev = [
        {
            "event_id": "e1",
            "event_type": "spot_price_changed",
            "provider": "runpod",
            "pricing_model": "spot",
            "region": "global",
            "instance_type": float("nan"),
            "gpu_model": "A100",
            "old_value": "1.19",
            "new_value": "0.89",
            "change_pct": float("nan"),
            "currency": "USD",
            "price_unit": "gpu_hour",
            "offer_count": 1.0,
            "detected_at": T0,
            "to_version": "v1",
            "source_url": "https://api.runpod.io/graphql?api_key=REDACTED",
        }
    ]
    msg = alerts.build_digest(sub, ev, from_addr=FROM, public_url=PUBLIC_URL, now=T0)
    raw = msg.as_bytes().decode()
    plain = msg.get_body(("plain",)).get_content()
    assert "- runpod global spot [A100]: 1.19 -> 0.89 USD/GPU-h\n" in plain
    assert "nan" not in raw.lower() and "api_key" not in raw
    assert "prices: https://www.runpod.io/pricing" in plain


def test_finding_07_list_unsubscribe_headers_go_out_raw(tmp_path, smtp):
    handler, port = smtp
    site = Site(tmp_path, port)
    sub = alerts.subscribe(site.engine, "ada@example.org")
    site.price_change()
    assert site.deliver().messages_sent == 1
    raw = handler.raw[0]
    head = raw.split(b"\r\n\r\n", 1)[0]
    # RFC 8058: clients read these headers as written; an RFC 2047 encoded-word
    # (=?utf-8?q?=3Chttps...?=) is not a URL to them.
    url = f"{PUBLIC_URL}/alerts/unsubscribe?token={sub.token}".encode()
    assert b"\r\nList-Unsubscribe: <" + url + b">\r\n" in head
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
    assert b"=?" not in head


def test_finding_08_address_the_server_cannot_take_is_refused_at_subscribe(tmp_path):
    engine = alerts.make_engine(alerts.database_url(tmp_path))
    with pytest.raises(alerts.AlertsError, match="SMTPUTF8"):
        alerts.subscribe(engine, "jörg@example.org")
    # An internationalized domain needs no SMTPUTF8: it is kept in its ASCII form.
    assert alerts.subscribe(engine, "ada@bücher.example").email == "ada@xn--bcher-kva.example"
    # Where the operator says the server offers SMTPUTF8, such an address may subscribe.
    assert alerts.subscribe(engine, "jörg@example.org", smtputf8=True).email == "jörg@example.org"


def test_finding_08_unsendable_mail_fails_with_a_reason_instead_of_staying_sending(tmp_path):
    with smtp_server(enable_SMTPUTF8=False) as (handler, port):
        site = Site(tmp_path, port)
        alerts.subscribe(site.engine, "jörg@example.org", smtputf8=True)
        alerts.subscribe(site.engine, "ada@example.org")
        site.price_change()
        report = site.deliver()
    assert (report.messages_sent, report.failed, report.still_queued, report.unconfirmed) == (
        1,
        1,
        0,
        0,
    )
    assert alerts.outbox_counts(site.engine) == {"failed": 1, "sent": 1}
    with site.engine.connect() as conn:
        reasons = [r for (r,) in conn.exec_driver_sql("SELECT last_error FROM alert_outbox")]
    assert any(r and "SMTPUTF8" in r for r in reasons)
    assert [m[1] for m in handler.messages] == [["ada@example.org"]]


def test_finding_08_smtputf8_server_gets_the_non_ascii_address(tmp_path):
    with smtp_server(enable_SMTPUTF8=True) as (handler, port):
        site = Site(tmp_path, port)
        alerts.subscribe(site.engine, "jörg@example.org", smtputf8=True)
        site.price_change()
        assert site.deliver().messages_sent == 1
    assert handler.messages[0][1] == ["jörg@example.org"]


def _serve(engine):
    import threading

    server = alerts.make_unsubscribe_server(engine, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_finding_06_an_idle_socket_does_not_block_unsubscribe(tmp_path):
    import urllib.request

    engine = alerts.make_engine(alerts.database_url(tmp_path))
    sub = alerts.subscribe(engine, "ada@example.org")
    server = _serve(engine)
    idle = socket.create_connection(("127.0.0.1", server.server_port))
    try:
        url = alerts.unsubscribe_url(f"http://127.0.0.1:{server.server_port}", sub.token)
        req = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200 and b"is unsubscribed" in resp.read()
    finally:
        idle.close()
        server.shutdown()
        server.server_close()
    assert alerts.list_subscribers(engine) == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",  # TLS to plain HTTP
        b"GET /alerts/unsubscribe?token=a&token=b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /alerts/unsubscribe?token=%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /alerts/unsubscribe?=&&token HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /alerts/unsubscribe?token=" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET /alerts/unsubscribe HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    ],
)
def test_finding_06_malformed_requests_get_400_and_no_traceback(tmp_path, capfd, request_bytes):
    engine = alerts.make_engine(alerts.database_url(tmp_path))
    alerts.subscribe(engine, "ada@example.org")
    server = _serve(engine)
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as s:
            s.sendall(request_bytes)
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
    finally:
        server.shutdown()
        server.server_close()
    # 400, or the more precise 414 (URI too long) / 431 (headers too large).
    assert reply.split(b"\r\n", 1)[0].split(b" ")[1] in (b"400", b"414", b"431")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "garbage" not in err
    assert len(alerts.list_subscribers(engine)) == 1


def test_unsubscribe_tokens_never_look_like_a_cli_option():
    # token_urlsafe started with '-' about once in 64 draws, and `scrape alerts
    # unsubscribe-token TOKEN` then took the token for an unknown option (exit 2).
    from pipelines.notify.subscriptions import TOKEN_BYTES, new_token

    tokens = [new_token() for _ in range(2000)]
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) == 2 * TOKEN_BYTES and int(t, 16) >= 0 for t in tokens)


def test_outbox_keeps_only_the_payloads_a_subscriber_needs(tmp_path):
    """Without a matching subscriber an event leaves nothing in the alerts database: it
    used to keep every event's payload (~1 KB each), the largest per-run growth of the
    state dir (benchmarks/README.md, "Growth")."""
    import sqlalchemy as sa

    from pipelines.notify.subscriptions import alert_events

    engine = alerts.make_engine(alerts.database_url(tmp_path))
    base = {"event_type": "offer_added", "pricing_model": "on_demand", "detected_at": T0}
    ev = events_frame(
        [
            {**base, "event_id": "aws-1", "provider": "aws", "to_version": "v1"},
            {**base, "event_id": "gcp-1", "provider": "gcp", "to_version": "v1"},
        ]
    )
    assert alerts.enqueue(engine, ev) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_events)).scalar() == 0
    alerts.subscribe(engine, "ada@example.org", providers=["gcp"])
    assert alerts.enqueue(engine, ev) == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(alert_events.c.event_id)).scalars().all()
    assert stored == ["gcp-1"]
