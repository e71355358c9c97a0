"""The shared HTTP layer: retries, Retry-After, timeouts, size cap, redaction, 304."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import _toolkit as tk
from scrapers import aws
from scrapers.base import ParseError
from scrapers.http import FetchError, HttpClient, redact_url, retry_after_seconds
from tests.support.server import ProviderServer, ok, truncated

FIXTURES_AWS_OFFER = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "aws"
    / "offer-file_us-east-1_2024-05-28_p4d-excerpt.json"
)


def run(coro):
    return asyncio.run(coro)


class Sleeps:
    def __init__(self):
        self.calls: list[float] = []

    async def __call__(self, s: float) -> None:
        self.calls.append(s)


def test_redact_url_hides_key_bearing_params_and_userinfo():
    url = "https://user:pw@api.example.com/v1/skus?key=AIzaSECRET&pageToken=abc&access_token=t0k"
    red = redact_url(url)
    assert "AIzaSECRET" not in red and "t0k" not in red and "pw" not in red
    assert "pageToken=abc" in red and "key=REDACTED" in red


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


@respx.mock
def test_retries_5xx_then_succeeds_with_backoff():
    route = respx.get("https://p.example/x").mock(
        side_effect=[httpx.Response(503), httpx.Response(500), httpx.Response(200, content=b"ok")]
    )
    sleeps = Sleeps()

    async def go():
        async with HttpClient(sleep=sleeps, backoff_base_s=1.0) as c:
            return await c.get("https://p.example/x", provider="t")

    r = run(go())
    assert r.body == b"ok" and route.call_count == 3
    assert (
        len(sleeps.calls) == 2 and 0.5 <= sleeps.calls[0] <= 1.0 and 1.0 <= sleeps.calls[1] <= 2.0
    )


@respx.mock
def test_429_honours_retry_after():
    respx.get("https://p.example/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200, content=b"ok"),
        ]
    )
    sleeps = Sleeps()

    async def go():
        async with HttpClient(sleep=sleeps) as c:
            return await c.get("https://p.example/x", provider="t")

    assert run(go()).body == b"ok"
    assert sleeps.calls == [3.0]


@respx.mock
def test_gives_up_after_max_retries_with_provider_and_url_in_message():
    respx.get("https://p.example/x").mock(return_value=httpx.Response(500))

    async def go():
        async with HttpClient(sleep=Sleeps(), max_retries=2) as c:
            return await c.get("https://p.example/x?key=SECRETKEY", provider="azure")

    with pytest.raises(FetchError) as ei:
        run(go())
    msg = str(ei.value)
    assert (
        msg.startswith("azure: https://p.example/x?key=REDACTED")
        and "HTTP 500 after 3 attempts" in msg
    )
    assert "SECRETKEY" not in msg


@respx.mock
def test_4xx_is_not_retried():
    route = respx.get("https://p.example/x").mock(return_value=httpx.Response(404))

    async def go():
        async with HttpClient(sleep=Sleeps()) as c:
            return await c.get("https://p.example/x", provider="t")

    with pytest.raises(FetchError, match="HTTP 404"):
        run(go())
    assert route.call_count == 1


@respx.mock
def test_size_cap():
    respx.get("https://p.example/big").mock(return_value=httpx.Response(200, content=b"x" * 5000))

    async def go():
        async with HttpClient(sleep=Sleeps(), max_body_bytes=1000) as c:
            return await c.get("https://p.example/big", provider="t")

    with pytest.raises(FetchError, match="larger than the 1000 byte cap"):
        run(go())


@respx.mock
def test_user_agent_and_conditional_request_304():
    route = respx.get("https://p.example/x").mock(return_value=httpx.Response(304))

    async def go():
        async with HttpClient(sleep=Sleeps()) as c:
            return await c.get(
                "https://p.example/x",
                provider="t",
                conditional={"etag": '"abc"', "sha256": "f" * 64},
            )

    r = run(go())
    req = route.calls[0].request
    assert req.headers["If-None-Match"] == '"abc"'
    assert req.headers["User-Agent"].startswith("gpu-prices/")
    assert r.not_modified and r.sha256_hex == "f" * 64


@respx.mock
def test_authorization_header_and_key_never_logged(caplog):
    respx.get("https://p.example/x").mock(
        side_effect=[httpx.ConnectError("boom"), httpx.Response(200, content=b"ok")]
    )

    async def go():
        async with HttpClient(sleep=Sleeps()) as c:
            return await c.get(
                "https://p.example/x",
                params={"api_key": "K3YVALUE"},
                provider="t",
                headers={"Authorization": "Bearer T0KENVALUE"},
            )

    with caplog.at_level(logging.DEBUG):
        run(go())
    assert "K3YVALUE" not in caplog.text and "T0KENVALUE" not in caplog.text
    assert "api_key=REDACTED" in caplog.text


def test_per_host_concurrency_limit():
    active, peak = 0, 0

    async def handler(request):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, content=b"ok")

    async def go():
        async with HttpClient(transport=httpx.MockTransport(handler), per_host_limit=2) as c:
            await asyncio.gather(*(c.get(f"https://p.example/{i}", provider="t") for i in range(8)))

    run(go())
    assert peak == 2


# --------------------------------------------------------------------------- hardening


def _drip(total_bytes: int, every_s: float):
    """A handler that announces `total_bytes` and sends one byte every `every_s` seconds:
    each read arrives well within any read timeout, so only an overall deadline stops it."""

    def handler(h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(total_bytes))
        h.end_headers()
        try:
            for _ in range(total_bytes):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(every_s)
        except OSError:  # the client gave up and closed the connection
            pass

    return handler


def test_finding_10_dripping_body_cannot_stretch_the_request_past_its_deadline():
    # Finding 10: a server dripping the body made 3 s timeouts last 42-85 s. Here the
    # drip would take 8 s (40 bytes x 0.2 s) against a 1 s read timeout and a 2 s deadline.
    with ProviderServer() as server:
        server.route("/drip", _drip(40, 0.2))

        async def go():
            async with HttpClient(timeout_s=1.0, max_retries=3, deadline_s=2.0) as c:
                return await c.get(server.url + "/drip", provider="t")

        started = time.monotonic()
        with pytest.raises(FetchError, match="2 s request deadline") as err:
            run(go())
        elapsed = time.monotonic() - started
    assert elapsed < 4.0, f"request ran {elapsed:.1f} s past a 2 s deadline"
    assert "t: " in str(err.value) and "/drip" in str(err.value)
    # The one attempt was cut off by the deadline: no earlier error to report.
    assert str(err.value).endswith("2 s request deadline (1 attempt(s))")


def test_finding_10_scrape_run_honours_the_deadline_set_in_gpu_prices_toml(tmp_path):
    # The deadline is a setting ([http] deadline_s), not only a client argument: a live run
    # against a dripping provider fails that provider after the configured budget.
    from pipelines.config import Config
    from pipelines.ops.run import run_providers

    (tmp_path / "gpu-prices.toml").write_text("[http]\ndeadline_s = 1.5\ntimeout_s = 1.0\n")
    cfg = Config.load(root=tmp_path, env={})
    assert cfg.http["deadline_s"] == 1.5
    with ProviderServer() as server:
        server.route("/v4/linode/types", _drip(60, 0.2))  # 12 s of body, 0.2 s per byte
        cfg.base_urls["linode"] = server.url + "/v4"
        started = time.monotonic()
        report = run_providers(["linode"], config=cfg, post_steps=False, alerts=False)
        elapsed = time.monotonic() - started
    res = report.providers["linode"]
    assert res.status == "failed" and "1.5 s request deadline" in res.error
    assert elapsed < 8.0, f"the run took {elapsed:.1f} s against a 1.5 s deadline"


def test_deadline_also_bounds_retries_and_backoff():
    # a deadline shorter than the next backoff wait fails at once instead of sleeping
    with ProviderServer() as server:
        server.route("/busy", (503, b"", {"Content-Length": "0", "Retry-After": "30"}))
        sleeps = Sleeps()

        async def go():
            async with HttpClient(max_retries=5, deadline_s=5.0, sleep=sleeps) as c:
                return await c.get(server.url + "/busy", provider="t")

        with pytest.raises(FetchError, match="leaves no time to retry"):
            run(go())
    assert sleeps.calls == [] and len(server.requests) == 1


def _close_delimited(body: bytes):
    """An HTTP/1.0-style answer: no Content-Length, the end of the body is the close."""

    def handler(h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.close_connection = True

    return handler


def test_finding_05_close_delimited_truncation_is_flagged_and_fails_parse():
    # Finding 5: a body cut mid-way on a connection that was framed by close looked like a
    # complete body. The response says how it was framed and the parsers' end-of-document
    # checks turn the cut body into a clear error.
    full = FIXTURES_AWS_OFFER.read_bytes()
    with ProviderServer() as server:
        server.route("/cut", _close_delimited(full[: len(full) // 2]))
        server.route("/whole", ok(full))

        async def go(path):
            async with HttpClient(max_retries=0) as c:
                return await c.get(server.url + path, provider="aws")

        cut, whole = run(go("/cut")), run(go("/whole"))
    assert cut.close_delimited and not whole.close_delimited
    with pytest.raises(ParseError, match="aws"):
        aws.parse([cut])
    with pytest.raises(ParseError, match="lambdalabs.*invalid JSON"):
        tk.load_json(cut, "lambdalabs")
    assert aws.parse([whole]).offers


def test_finding_05_body_shorter_than_content_length_fails_the_fetch():
    with ProviderServer() as server:
        server.route("/short", truncated(b'{"data": {}}' * 50))

        async def go():
            async with HttpClient(max_retries=1, sleep=Sleeps()) as c:
                return await c.get(server.url + "/short", provider="t")

        with pytest.raises(FetchError, match="after 2 attempts"):
            run(go())
    assert len(server.requests) == 2  # retried: a cut transfer is usually transient
