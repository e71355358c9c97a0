"""The one HTTP layer every provider's fetch step goes through.

httpx underneath, plus what every scraper in this field ended up hand-rolling, once:
an identifying User-Agent, timeouts, retries with exponential backoff on connection
errors / 5xx / 429 (honouring `Retry-After`), a per-host concurrency limit, a response
size cap, conditional requests, optional streaming to disk for huge files, and redaction:
API keys, tokens, `Authorization` headers and key-bearing query parameters never reach a
log line, an exception message or the archive.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import hashlib
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from scrapers.base import ProviderError, Response

log = logging.getLogger("scrapers.http")

USER_AGENT = "gpu-prices/0.1 (+https://github.com/gpu-prices/gpu-prices; open GPU price dataset)"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_MAX_BACKOFF_S = 60.0
DEFAULT_PER_HOST_LIMIT = 4
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024  # in-memory bodies; streamed files get their own cap
# Overall wall-clock budget of one request, retries and backoff included. httpx timeouts
# apply per read, so a server dripping one byte per read timeout would otherwise hold a
# request open indefinitely; huge downloads (AWS offer files) pass a larger deadline_s.
DEFAULT_DEADLINE_S = 600.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Query parameters whose value is a secret. Matched case-insensitively on the name.
SECRET_PARAM_RE = re.compile(
    r"^(key|api[-_]?key|apikey|access[-_]?token|token|auth|secret|client[-_]?secret|"
    r"password|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)$",
    re.IGNORECASE,
)
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-auth-token",
    }
)
# Response headers the archive keeps (everything else may carry cookies or tracking ids).
KEPT_HEADERS = ("etag", "last-modified", "date", "content-type", "content-length")
REDACTED = "REDACTED"


class FetchError(ProviderError):
    """A request failed after retries (or failed in a way retrying cannot fix)."""

    def __init__(self, provider: str, url: str, message: str, status: int | None = None):
        self.status = status
        super().__init__(provider or "http", url, message)


def redact_url(url: str) -> str:
    """Replace the value of every key-bearing query parameter (and userinfo) by REDACTED."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.split("@", 1)[1]
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    red = [(k, REDACTED if SECRET_PARAM_RE.match(k) else v) for k, v in pairs]
    return urlunsplit(
        (parts.scheme, netloc, parts.path, urlencode(red, safe="$,'():/"), parts.fragment)
    )


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


_SECRET_IN_TEXT_RE = re.compile(
    r"([?&](?:key|api[-_]?key|apikey|access[-_]?token|token|auth|secret|client[-_]?secret|"
    r"password|signature|sig)=)[^&\s\"']+",
    re.IGNORECASE,
)
_KNOWN_SECRETS: set[str] = set()  # every value any client was told is secret


def scrub(text: str) -> str:
    """Remove key-bearing query values and every known secret value from free text."""
    text = _SECRET_IN_TEXT_RE.sub(r"\1" + REDACTED, text)
    for s in _KNOWN_SECRETS:
        # as written, and as it appears inside a URL (percent- or plus-encoded)
        for form in {s, quote(s, safe=""), quote_plus(s)}:
            text = text.replace(form, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    """Installed on httpx/httpcore loggers: their INFO lines print full request URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        clean = scrub(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


class Redactor:
    """Registers secret values (for `scrub`, process-wide: httpx's own log lines and any
    later error text must lose them too) and scrubs text."""

    def add(self, *values: str | None) -> None:
        for v in values:
            if v and len(v) >= 4:  # shorter "secrets" would blank ordinary words
                _KNOWN_SECRETS.add(v)

    def __call__(self, text: str) -> str:
        return scrub(text)


class HttpClient:
    """Async client shared by all providers of a run (`scrapers.base.ProviderClient`).

    `transport` is httpx's seam for tests (respx, or a real server on 127.0.0.1 through the
    base-URL override); `sleep` is injectable so backoff tests don't wait; `clock` is the
    run's clock, given to fetch steps as `now()`.
    """

    def __init__(
        self,
        *,
        user_agent: str = USER_AGENT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
        max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
        per_host_limit: int = DEFAULT_PER_HOST_LIMIT,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        deadline_s: float = DEFAULT_DEADLINE_S,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.max_backoff_s = max_backoff_s
        self.per_host_limit = per_host_limit
        self.max_body_bytes = max_body_bytes
        self.deadline_s = deadline_s
        self._sleep = sleep
        self._clock = clock
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.redactor = Redactor()
        self.requests_made = 0
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            transport=transport,
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _sem(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host_limit)
        return self._hosts[host]

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads retries from concurrent providers hitting one host.
        return min(self.max_backoff_s, self.backoff_base_s * (2**attempt)) * (
            0.5 + random.random() / 2
        )

    def now(self) -> datetime:
        """The run's clock (UTC): fetch steps take times from here, never datetime.now."""
        return self._clock()

    async def get(self, url: str, **kw: Any) -> Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Response:
        return await self.request("POST", url, **kw)

    async def request(
        self,
        method: str,
        url: str,
        *,
        provider: str = "",
        kind: str = "",
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        secrets: Iterable[str] = (),
        conditional: Mapping[str, Any] | None = None,
        to_file: Path | None = None,
        max_body_bytes: int | None = None,
        ok_statuses: Iterable[int] = (200,),
        deadline_s: float | None = None,
    ) -> Response:
        """Fetch one URL with retries; return the verbatim body as a `Response`.

        `conditional` is the previous manifest entry of this URL (its `etag` /
        `last_modified`): when given, the request is conditional and a 304 answer comes
        back as `Response(not_modified=True)`. `to_file` streams the body (gzip-compressed)
        to disk instead of memory, for files of hundreds of MB. `deadline_s` (default: the
        client's) bounds the whole request, retries and backoff included.
        """
        self.redactor.add(*secrets)
        req_headers = dict(headers or {})
        for k, v in req_headers.items():
            if k.lower() in SECRET_HEADERS:
                self.redactor.add(v.removeprefix("Bearer ").strip(), v)
        if conditional:
            if conditional.get("etag"):
                req_headers["If-None-Match"] = conditional["etag"]
            if conditional.get("last_modified"):
                req_headers["If-Modified-Since"] = conditional["last_modified"]
        full_url = str(httpx.URL(url, params=params)) if params else url
        for v in dict(parse_qsl(urlsplit(full_url).query)).items():
            if SECRET_PARAM_RE.match(v[0]):
                self.redactor.add(v[1])
        # By parameter name, and by value: a provider's declared secret settings are
        # registered before its fetch runs, wherever it puts them.
        shown = scrub(redact_url(full_url))
        cap = max_body_bytes or self.max_body_bytes
        ok = set(ok_statuses)
        budget = self.deadline_s if deadline_s is None else deadline_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        last_error: str | None = None  # of the attempts before the current one
        for attempt in range(self.max_retries + 1):
            wait: float | None = None
            try:
                async with asyncio.timeout_at(deadline), self._sem(full_url):
                    self.requests_made += 1
                    async with self._client.stream(
                        method, full_url, headers=req_headers, json=json, content=content
                    ) as resp:
                        if resp.status_code == 304 and conditional:
                            return Response(
                                url=shown,
                                fetched_at=self._clock(),
                                status=304,
                                headers=_kept(resp.headers),
                                kind=kind,
                                not_modified=True,
                                sha256_hex=conditional.get("sha256"),
                            )
                        if resp.status_code in RETRY_STATUSES:
                            last_error = f"HTTP {resp.status_code}"
                            wait = retry_after_seconds(
                                resp.headers.get("retry-after"), self._clock()
                            )
                            await resp.aclose()
                            if attempt == self.max_retries:
                                raise FetchError(
                                    provider,
                                    shown,
                                    f"{last_error} after {attempt + 1} attempts",
                                    resp.status_code,
                                )
                        elif resp.status_code not in ok:
                            raise FetchError(
                                provider, shown, f"HTTP {resp.status_code}", resp.status_code
                            )
                        else:
                            return await self._read(resp, shown, provider, kind, cap, to_file)
            except FetchError:
                raise
            except TimeoutError:
                raise FetchError(
                    provider,
                    shown,
                    f"no complete answer within the {budget:g} s request deadline "
                    f"({attempt + 1} attempt(s)"
                    + (f"; last error before it: {last_error})" if last_error else ")"),
                ) from None
            except httpx.TransportError as exc:
                # Connection refused/reset, timeouts, truncated bodies (RemoteProtocolError).
                last_error = f"{type(exc).__name__}: {self.redactor(str(exc)) or 'transport error'}"
                if attempt == self.max_retries:
                    raise FetchError(
                        provider, shown, f"{last_error} after {attempt + 1} attempts"
                    ) from None
            delay = wait if wait is not None else self._backoff(attempt)
            delay = min(delay, self.max_backoff_s)
            if loop.time() + delay >= deadline:
                raise FetchError(
                    provider,
                    shown,
                    f"{last_error}; the {budget:g} s request deadline leaves no time to retry",
                )
            log.warning(
                "%s: %s on %s; retry %d/%d in %.1fs",
                provider,
                last_error,
                shown,
                attempt + 1,
                self.max_retries,
                delay,
            )
            await self._sleep(delay)
        raise FetchError(
            provider, shown, last_error
        )  # pragma: no cover - loop always returns/raises

    async def _read(
        self,
        resp: httpx.Response,
        shown: str,
        provider: str,
        kind: str,
        cap: int,
        to_file: Path | None,
    ) -> Response:
        h = hashlib.sha256()
        size = 0
        fetched_at = self._clock()
        # Without Content-Length or chunked framing the server marks the end of the body
        # only by closing the connection, so a connection closed mid-body looks complete:
        # the response says so (`close_delimited`) and parsers must find a valid end of
        # document (the toolkit's JSON decoding and the AWS scanner do).
        close_delimited = "content-length" not in resp.headers and "chunked" not in (
            resp.headers.get("transfer-encoding", "").lower()
        )
        if to_file is not None:
            to_file.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(to_file, "wb", compresslevel=1) as out:
                async for chunk in resp.aiter_bytes(1 << 20):
                    size += len(chunk)
                    if size > cap:
                        raise FetchError(
                            provider, shown, f"response larger than the {cap} byte cap"
                        )
                    h.update(chunk)
                    out.write(chunk)
            _check_length(resp, shown, close_delimited, size)
            return Response(
                url=shown,
                fetched_at=fetched_at,
                status=resp.status_code,
                headers=_kept(resp.headers),
                body_path=to_file,
                body_path_gzip=True,
                sha256_hex=h.hexdigest(),
                kind=kind,
                close_delimited=close_delimited,
            )
        chunks: list[bytes] = []
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(provider, shown, f"response larger than the {cap} byte cap")
            chunks.append(chunk)
        body = b"".join(chunks)
        _check_length(resp, shown, close_delimited, size)
        return Response(
            url=shown,
            fetched_at=fetched_at,
            status=resp.status_code,
            headers=_kept(resp.headers),
            body=body,
            sha256_hex=hashlib.sha256(body).hexdigest(),
            kind=kind,
            close_delimited=close_delimited,
        )


def _check_length(resp: httpx.Response, shown: str, close_delimited: bool, size: int) -> None:
    """A body shorter than its Content-Length is a failed transfer (retried).

    httpcore refuses short bodies on real connections; this also covers transports that
    do not. Content-Length counts the bytes on the wire, so the check applies to bodies
    without a Content-Encoding (for gzip bodies the decoded size differs by design)."""
    if close_delimited:
        log.info("%s: body delimited by connection close (no Content-Length)", shown)
        return
    announced = resp.headers.get("content-length", "")
    identity = resp.headers.get("content-encoding", "identity").lower() in ("", "identity")
    if identity and announced.isdigit() and size < int(announced):
        raise httpx.RemoteProtocolError(f"body truncated: {size} of {announced} bytes")


def _kept(headers: httpx.Headers) -> dict[str, str]:
    return {k: headers[k] for k in KEPT_HEADERS if k in headers}
