"""The shared HTTP layer: retries, Retry-After, timeouts, size cap, redaction, 304."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import respx

from scrapers.http import FetchError, HttpClient, redact_url, retry_after_seconds


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
