"""The provider contract: what every module in `scrapers/` declares and returns.

A provider module builds one `ProviderSpec` named `PROVIDER`:

- `fetch(ctx)` is the thin, impure step: it knows the URLs and the paging, asks the
  shared HTTP client (`ctx.client`) for every response and returns them. It never parses
  prices; at most it decodes a page to find the next-page link.
- `parse(responses)` is pure: recorded responses in, `Offer`s out. No network, no clock,
  no environment. The observation time of every offer is the `fetched_at` of the response
  it came from, so replaying an archive reproduces the original observations.

Everything downstream (GPU name resolution, FX, USD columns, the gate, the history) is
done by `pipelines/`, so a parser only says what the provider published.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

from scrapers.errors import GpuPricesError

PRICING_MODELS = ("on_demand", "spot", "reserved_1y", "reserved_3y", "subscription", "free")

# What `Offer.price_per_hour` covers (the parser converts units; see scrapers/_toolkit.py).
PRICE_SCOPES = (
    "instance",  # the whole machine with its CPU and RAM (the default)
    "gpu_only",  # the accelerator part only; CPU/RAM/disk are billed on top
    "marketplace_min",  # the cheapest host offer of a marketplace market (an aggregate)
    "curated_min",  # the minimum of a third party's curated summary
)


class ProviderError(GpuPricesError):
    """A source failed as a whole (fetch, layout change, unparseable field).

    The message always names the provider, the source (URL or file) and the field, so one
    line in the run summary is enough to find the problem.
    """

    def __init__(self, provider: str, source: str, message: str, field: str | None = None):
        self.provider = provider
        self.source = source
        self.field = field
        where = f"{source}" + (f" field {field!r}" if field else "")
        super().__init__(f"{provider}: {where}: {message}")


class ParseError(ProviderError):
    """The recorded response does not have the layout the parser knows."""


class RowError(ValueError):
    """One row of a source cannot be used (skip, log, count); `field` names what was wrong."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class SkipProvider(Exception):
    """Raised by fetch when a provider cannot run here by design (e.g. no API key set).

    A skipped provider is reported, is not a failure, and keeps its published data.
    """


@dataclass(frozen=True)
class Response:
    """One HTTP response as recorded: verbatim body plus the metadata the archive keeps.

    Small bodies live in `body`; large ones (AWS offer files) stay on disk in `body_path`
    (optionally gzip-compressed, `body_path_gzip=True`) so nothing has to hold them in RAM.
    `url` is always the redacted URL: secrets never get this far.
    """

    url: str
    fetched_at: datetime
    body: bytes | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body_path: Path | None = None
    body_path_gzip: bool = False
    sha256_hex: str | None = None
    # Free-form label the fetch step gives the response (e.g. "offer-file", "spot-feed");
    # parsers that accept several kinds still detect the kind from the content.
    kind: str = ""
    # True when the server answered 304 / the source reported "unchanged": the body is
    # absent and the archive already holds the last version.
    not_modified: bool = False
    # True when the body had neither Content-Length nor chunked framing: its end was the
    # connection closing, so a cut connection would look complete. Parsers check that the
    # document ends validly whatever this says; it is here to be reported.
    close_delimited: bool = False

    def open(self) -> BinaryIO:
        if self.body is not None:
            return io.BytesIO(self.body)
        if self.body_path is not None:
            if self.body_path_gzip:
                return gzip.open(self.body_path, "rb")  # type: ignore[return-value]
            return open(self.body_path, "rb")
        raise ValueError(f"response {self.url} has no body")

    def read(self) -> bytes:
        if self.body is not None:
            return self.body
        with self.open() as fh:
            return fh.read()

    @property
    def sha256(self) -> str:
        if self.sha256_hex:
            return self.sha256_hex
        h = hashlib.sha256()
        with self.open() as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


@dataclass
class Offer:
    """One published price, as the provider states it (before FX and GPU resolution).

    `price_per_hour` is in `currency`, for the whole instance, already converted to per
    hour; `price_unit_published` says what the provider quoted ("hour", "minute",
    "second", "month", "gpu_hour", "term" ...). Prices are built with `decimal.Decimal`
    where the source is exact (units + nanos, 1e-8 units) and converted to float last.
    """

    instance_type: str
    region: str
    pricing_model: str
    currency: str
    price_per_hour: float
    gpu_count: float
    gpu_name_raw: str | None
    source_url: str
    observed_at: datetime
    snapshot_sha256: str
    zone: str | None = None
    # Reserved / commitment variant ("standard/partial_upfront", "convertible/no_upfront",
    # "cud") so several reserved offers for one instance keep distinct keys.
    term: str | None = None
    gpu_memory_gb: float | None = None  # per GPU, as stated by the provider
    # Canonical name when the provider's own table already knows it (e.g. Azure VM size
    # -> "A100"); the resolver still checks it and fills the form factor.
    gpu_model_hint: str | None = None
    vcpus: float | None = None
    memory_gb: float | None = None
    price_unit_published: str = "hour"
    upfront_fee: float | None = None  # reserved: the upfront part, in `currency`
    storage_per_month: float | None = None  # e.g. Paperspace's monthly storage/access fee
    # Marketplace aggregates (Vast.ai, TensorDock, RunPod community): price_per_hour is the
    # minimum of `market_offer_count` host offers; p25/median in the same unit.
    market_offer_count: int | None = None
    market_price_p25_per_hour: float | None = None
    market_price_median_per_hour: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # What the price covers: one of PRICE_SCOPES ("instance", "gpu_only",
    # "marketplace_min", "curated_min"), so rankings never compare a GPU-only rate or a
    # marketplace minimum with a whole machine without saying so.
    price_scope: str = "instance"
    # What a third party's computed price was built from, when the source is a calculation
    # rather than the provider's own price list (e.g. Cyclenerd's machine definition
    # "a100-80gb=1;cpu=12;local-ssd=375;ram=170"). The source redefining it (a corrected
    # GPU, local SSD now included) changes the price without the provider repricing
    # anything: change detection re-baselines such an offer instead of raising an event.
    price_basis: str | None = None

    def __post_init__(self) -> None:
        if self.pricing_model not in PRICING_MODELS:
            raise ValueError(f"unknown pricing_model {self.pricing_model!r}")
        if self.price_scope not in PRICE_SCOPES:
            raise ValueError(f"unknown price_scope {self.price_scope!r}")


@dataclass
class ParseResult:
    """Offers plus the rows that were skipped, each with a reason (skip, log, count)."""

    offers: list[Offer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Things the run summary must show, e.g. instance families missing from a table.
    unknown: list[str] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.offers.extend(other.offers)
        self.warnings.extend(other.warnings)
        self.unknown.extend(other.unknown)


class ProviderClient(Protocol):
    """The HTTP client as a provider's fetch sees it (`scrapers.http.HttpClient`).

    `get` / `post` take the keyword options of `HttpClient.request` (provider, kind,
    params, headers, json, secrets, conditional, to_file, max_body_bytes ...). `now()` is
    the run's clock: fetch steps take times from it, never from `datetime.now`, so tests
    with a fixed clock see fixed times.
    """

    async def get(self, url: str, **kw: Any) -> Response: ...

    async def post(self, url: str, **kw: Any) -> Response: ...

    def now(self) -> datetime: ...


class Setting(NamedTuple):
    """One setting a provider reads (environment variable or `[settings]` in the config).

    The declaration drives everything: a provider's fetch sees only its own declared
    settings; `secret` values are redacted from URLs, logs, errors and the archive and
    cleared from the environment in tests; a missing `required` one skips the provider
    (reported, not failed); `scrape list` and the README table show them with `help`.
    """

    name: str
    secret: bool = False
    required: bool = False
    help: str = ""

    def describe(self, code: str = "") -> str:
        """'NAME (required, secret): help', for `scrape list` and the README table."""
        tags = [t for t, on in (("required", self.required), ("secret", self.secret)) if on]
        text = f"{code}{self.name}{code} ({', '.join(tags) or 'optional'})"
        return f"{text}: {self.help}" if self.help else text


def select_settings(declared: Sequence[Setting], available: Mapping[str, str]) -> dict[str, str]:
    """The declared settings that are set (non-empty) in `available` (the environment plus
    the config file's `[settings]`): all a fetch step gets to see."""
    return {s.name: available[s.name] for s in declared if available.get(s.name)}


@dataclass
class FetchContext:
    """What a fetch step gets: the shared client, its base URL(s) and its settings.

    `base_url` comes from configuration (env `GPU_PRICES_<NAME>_BASE_URL` or the config
    file), defaulting to the provider's public URL, so a mirror or a local test server can
    stand in. `previous` maps a redacted URL to the manifest entry of its last archived
    response (ETag, Last-Modified, sha256), for conditional requests.
    """

    provider: str
    client: ProviderClient
    base_url: str
    # Only the settings the provider declares (`ProviderSpec.settings`) that are set.
    settings: Mapping[str, str] = field(default_factory=dict)
    previous: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    workdir: Path | None = None  # scratch space for large streamed downloads
    base_urls: Mapping[str, str] = field(default_factory=dict)  # named extra bases

    def url(self, path: str, base: str | None = None) -> str:
        root = (self.base_urls.get(base) if base else None) or self.base_url
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return root.rstrip("/") + "/" + path.lstrip("/")


FetchFn = Callable[[FetchContext], Awaitable[list[Response]]]
ParseFn = Callable[[Sequence[Response]], ParseResult]


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the registry, the CLI and the README need to know about a provider."""

    name: str  # lowercase id: module, CLI argument, fixture folder, archive folder
    title: str
    source_urls: tuple[str, ...]
    pricing_models: tuple[str, ...]
    validated_against: str  # "recorded response: <file> (<date>)" or "documented schema only"
    default_base_url: str
    fetch: FetchFn
    parse: ParseFn
    # Named additional base URLs (e.g. AWS "spot" feed host), each overridable too.
    extra_base_urls: Mapping[str, str] = field(default_factory=dict)
    # The settings the fetch reads (see `Setting`): what it sees, what is redacted, what
    # must be set for the provider to run, and what `scrape list` / the README show.
    settings: tuple[Setting, ...] = ()
    # Default cadence hint for schedules/ (cron or "every 1h").
    default_cadence: str = "0 3 * * *"
    # Fraction the row count may fall versus the last good run before the gate fails.
    max_row_drop_fraction: float = 0.5
    # Currencies the provider publishes in; any non-USD one makes a live run fetch the
    # ECB reference rates first (archived like any other source).
    currencies: tuple[str, ...] = ("USD",)
    # True when the offers of each response depend only on that response (and the data
    # tables): the pipeline then caches parse results per body sha256, so an unchanged
    # multi-hundred-MB file (AWS offer files) is neither downloaded nor parsed again.
    separable_parse: bool = False
    notes: str = ""
    # The provider's pricing page for people (feed and mail links point here, never at an
    # API URL, which may carry a redacted key and means nothing in a browser).
    pricing_page_url: str | None = None
    # Set for providers fed only by `scrape import FORMAT` (scrapers/imports/): the format's
    # name. They have nothing to fetch, so a live `scrape run --all` leaves them out; a
    # replay includes them.
    import_format: str | None = None
    # An aggregator whose every offer is another cloud's machine resold (Shadeform): its rows
    # stay in the history and rankings (a user can rent at that price), but the price index
    # leaves them out, or the underlying cloud would count twice (methodology 1.1).
    resells: bool = False
    # The provider whose provider-scoped rows of pipelines/data/gpu_aliases.csv (instance
    # families such as GCP `a2-highgpu` = A100 40 GB SXM, provider spellings) name this
    # source's machines: an imported copy of a cloud's catalog (gcp_cyclenerd) lists that
    # cloud's machine types, and without the cloud's rules its GPUs lose the form factor
    # the machine family fixes (and with it the SXM/PCIe price indexes).
    gpu_rules_of: str | None = None

    def settings_from(self, available: Mapping[str, str]) -> dict[str, str]:
        """This provider's declared settings that are set in `available`."""
        return select_settings(self.settings, available)

    def missing_settings(self, available: Mapping[str, str]) -> list[str]:
        """Required settings not set in `available`: the provider is skipped without them."""
        return [s.name for s in self.settings if s.required and not available.get(s.name)]

    @property
    def required_settings(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.required)

    @property
    def secret_settings(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.secret)
