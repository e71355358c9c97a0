"""AWS EC2 GPU and accelerator prices: on-demand, reserved (1 yr / 3 yr) and spot.

Sources (public, no credentials):

- The Price List bulk API: the offer index (`/offers/v1.0/aws/index.json`) names the EC2
  region index (`region_index.json`), which names each region's versioned offer file
  (`/offers/v1.0/aws/AmazonEC2/<version>/<region>/index.json`, hundreds of MB each).
  Output: `on_demand` and `reserved_1y` / `reserved_3y` offers for Linux, shared tenancy,
  no pre-installed software, `capacitystatus` Used, of the instance families listed in
  `data/aws_instance_families.csv` (GPUs plus Inferentia / Trainium / Gaudi).
- The spot price feed behind aws.amazon.com/ec2/spot/pricing/
  (`https://website.spot.ec2.aws.a2z.com/spot.json`; older `spot.js` JSONP form too).
  Output: `spot` offers per region, GPU counts from `data/aws_instance_sizes.csv`.

Offer files are parsed streaming in bounded memory (see `_scan_offer_file`); the GPU model
of each family comes from the family table, the GPU count from the offer's `gpu`
attribute (or the size table, which also holds fractional sizes).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from scrapers.base import FetchContext, Offer, ParseError, ParseResult, ProviderSpec, Response

NAME = "aws"
PRICING_BASE_URL = "https://pricing.us-east-1.amazonaws.com"
SPOT_BASE_URL = "https://website.spot.ec2.aws.a2z.com"
OFFER_INDEX_PATH = "/offers/v1.0/aws/index.json"
SPOT_FEED_PATH = "spot.json"
DATA_DIR = Path(__file__).parent / "data"

# Offer files are streamed to disk gzip-compressed; the largest EC2 region files are a
# few GB uncompressed, so the cap is generous but finite.
OFFER_FILE_MAX_BYTES = 16 * 1024**3
CONCURRENT_OFFER_DOWNLOADS = 4

# AWS quotes reserved terms as an upfront fee plus a recurring hourly rate; its own
# "effective hourly" spreads the upfront fee over 365 days x 24 h per year of the term.
HOURS_PER_YEAR = 8760
LEASE_YEARS = {"1yr": 1, "3yr": 3}
RESERVED_MODEL = {"1yr": "reserved_1y", "3yr": "reserved_3y"}

# Product attribute values that select the plain Linux price of an instance.
WANTED_ATTRIBUTES = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
# AWS's own category names for accelerator instances; a product in one of these (or with
# a `gpu` attribute > 0) whose family is missing from the family table is reported.
ACCELERATOR_CATEGORIES = frozenset({"GPU instance", "Machine Learning ASIC Instances"})
CAPACITY_BLOCK = "CapacityBlock"
SPOT_NOT_AVAILABLE_PREFIX = "N/A"
REGION_CODE_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d+(-[a-z]+-\d+[a-z]?)?$")


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class FamilyInfo:
    family: str
    accelerator_kind: str
    gpu_model_hint: str
    gpu_name_raw: str
    gpu_vendor: str
    gpu_memory_gb: float | None


@dataclass(frozen=True)
class SizeInfo:
    instance_type: str
    gpu_count: float
    gpu_memory_gb: float | None
    vcpus: float | None
    memory_gb: float | None


def _opt_float(value: str) -> float | None:
    return float(value) if value.strip() else None


@lru_cache(maxsize=1)
def families() -> dict[str, FamilyInfo]:
    """Instance family -> accelerator model (data/aws_instance_families.csv)."""
    with open(DATA_DIR / "aws_instance_families.csv", newline="") as fh:
        return {
            row["family"]: FamilyInfo(
                family=row["family"],
                accelerator_kind=row["accelerator_kind"],
                gpu_model_hint=row["gpu_model_hint"],
                gpu_name_raw=row["gpu_name_raw"],
                gpu_vendor=row["gpu_vendor"],
                gpu_memory_gb=_opt_float(row["gpu_memory_gb"]),
            )
            for row in csv.DictReader(fh)
        }


@lru_cache(maxsize=1)
def sizes() -> dict[str, SizeInfo]:
    """Instance type -> accelerator count / memory / vCPUs (data/aws_instance_sizes.csv)."""
    with open(DATA_DIR / "aws_instance_sizes.csv", newline="") as fh:
        return {
            row["instance_type"]: SizeInfo(
                instance_type=row["instance_type"],
                gpu_count=float(row["gpu_count"]),
                gpu_memory_gb=_opt_float(row["gpu_memory_gb"]),
                vcpus=_opt_float(row["vcpus"]),
                memory_gb=_opt_float(row["memory_gb"]),
            )
            for row in csv.DictReader(fh)
        }


@lru_cache(maxsize=1)
def spot_regions() -> dict[str, str]:
    """Legacy spot-feed region name -> region code (data/aws_spot_regions.csv)."""
    with open(DATA_DIR / "aws_spot_regions.csv", newline="") as fh:
        return {row["spot_region_name"]: row["region_code"] for row in csv.DictReader(fh)}


def family_of(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


# --------------------------------------------------------------------------- fetch


def _now(ctx: FetchContext) -> datetime:
    # The shared client's clock, so tests with a fixed clock see fixed times.
    clock = getattr(ctx.client, "_clock", None)
    return clock() if callable(clock) else datetime.now(UTC)


async def fetch(ctx: FetchContext) -> list[Response]:
    """Offer index -> EC2 region index -> each region's offer file, plus the spot feed.

    A region whose versioned offer-file URL is already in the archive (`ctx.previous`) is
    not downloaded again: the URL names the version, so its bytes cannot have changed.
    Other files are requested conditionally (ETag / Last-Modified).
    """
    client = ctx.client
    index_url = ctx.url(OFFER_INDEX_PATH)
    index = await client.get(index_url, provider=NAME, kind="offer-index")
    responses = [index]
    try:
        region_index_path = json.loads(index.read())["offers"]["AmazonEC2"]["currentRegionIndexUrl"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(
            NAME,
            index.url,
            f"no AmazonEC2 region index URL ({exc!r})",
            field="offers.AmazonEC2.currentRegionIndexUrl",
        ) from None
    region_index = await client.get(ctx.url(region_index_path), provider=NAME, kind="region-index")
    responses.append(region_index)
    try:
        regions: dict[str, Any] = json.loads(region_index.read())["regions"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(
            NAME, region_index.url, f"unreadable region index ({exc!r})", field="regions"
        ) from None

    wanted = ctx.settings.get("AWS_REGIONS", "")
    selected = [r.strip() for r in wanted.split(",") if r.strip()] or sorted(regions)
    missing = [r for r in selected if r not in regions]
    if missing:
        raise ParseError(
            NAME,
            region_index.url,
            f"AWS_REGIONS names regions not in the index: {missing}",
            field="regions",
        )

    workdir = ctx.workdir or Path(tempfile.mkdtemp(prefix="gpu-prices-aws-"))
    gate = asyncio.Semaphore(CONCURRENT_OFFER_DOWNLOADS)

    async def one_region(code: str) -> Response:
        version_url = ctx.url(regions[code]["currentVersionUrl"])
        prev = ctx.previous.get(version_url)
        if prev and prev.get("sha256"):
            return Response(
                url=version_url,
                fetched_at=_now(ctx),
                not_modified=True,
                sha256_hex=prev["sha256"],
                kind="offer-file",
            )
        async with gate:
            return await client.get(
                version_url,
                provider=NAME,
                kind="offer-file",
                conditional=prev,
                to_file=workdir / f"aws-offer-{code}.json.gz",
                max_body_bytes=OFFER_FILE_MAX_BYTES,
            )

    responses.extend(await asyncio.gather(*(one_region(code) for code in selected)))
    spot_url = ctx.url(SPOT_FEED_PATH, base="spot")
    responses.append(
        await client.get(
            spot_url, provider=NAME, kind="spot-feed", conditional=ctx.previous.get(spot_url)
        )
    )
    return responses


# --------------------------------------------------------------------------- parse


@dataclass
class _Source:
    """Per-response context every offer of that response shares."""

    url: str
    observed_at: datetime
    sha256: str
    offer_version: str | None = None
    publication_date: str | None = None
    region_hint: str | None = None  # region from the offer-file URL, for files without regionCode
    capacity_blocks_excluded: int = 0
    unknown_families: set[str] = field(default_factory=set)


def parse(responses: Sequence[Response]) -> ParseResult:
    """Recorded responses -> offers. Each response is parsed on its own (cacheable per sha256)."""
    result = ParseResult()
    for r in responses:
        if r.not_modified and r.body is None and r.body_path is None:
            continue  # the pipeline substitutes the archived body; nothing to read here
        result.extend(parse_one(r))
    return result


def parse_one(r: Response) -> ParseResult:
    kind = detect_kind(r)
    if kind in ("offer-index", "region-index"):
        return ParseResult()
    if kind == "offer-file":
        return _parse_offer_file(r)
    if kind == "get-products":
        return _parse_get_products(r)
    return _parse_spot_feed(r)


def _head(r: Response, n_bytes: int = 8192) -> str:
    with r.open() as fh:
        return fh.read(n_bytes).decode("utf-8", errors="replace")


def detect_kind(r: Response) -> str:
    """Recognize a recorded file by its content, not its name or `kind` label."""
    head = _head(r).lstrip("\ufeff \t\r\n")
    if _JSONP_RE.match(head):
        return "spot-feed"
    keys = set(re.findall(r'"(\w+)"\s*:', head))
    if "offers" in keys or "currentRegionIndexUrl" in keys:
        return "offer-index"  # checked first: its entries carry "offerCode" too
    if "offerCode" in keys or "products" in keys:
        return "offer-file"
    if "regions" in keys and "currentVersionUrl" in keys:
        return "region-index"
    if "vers" in keys and "config" in keys:
        return "spot-feed"
    if "PriceList" in keys or "product" in keys:
        return "get-products"
    raise ParseError(
        NAME,
        r.url,
        "not an AWS offer file, region index, GetProducts page or spot feed",
        field="top-level keys",
    )


# ----------------------------------------------------------- products and terms -> offers


def _decimal(value: Any) -> Decimal | None:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _number(value: Any) -> float | None:
    d = _decimal(value)
    return float(d) if d is not None else None


def _gib(value: Any) -> float | None:
    # "1152 GiB" -> 1152.0; "NA" -> None
    m = re.match(r"\s*([\d.,]+)\s*GiB", str(value or ""))
    return float(m.group(1).replace(",", "")) if m else None


def _accelerator_family(attrs: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(family, known) when the product is an accelerator instance, else None."""
    itype = attrs.get("instanceType")
    if not itype or "." not in str(itype):
        return None  # dedicated-host products name a family only
    fam = family_of(str(itype))
    if fam in families():
        return fam, True
    gpu = _number(attrs["gpu"]) if "gpu" in attrs else None
    if (gpu is not None and gpu > 0) or attrs.get("instanceFamily") in ACCELERATOR_CATEGORIES:
        return fam, False
    return None


def _rejection(product: Mapping[str, Any]) -> str | None:
    """Why a product is not a plain Linux on-demand/reserved instance price (None = keep)."""
    if not str(product.get("productFamily", "")).startswith("Compute Instance"):
        return "productFamily"
    attrs = product.get("attributes") or {}
    for key, want in WANTED_ATTRIBUTES.items():
        if attrs.get(key) != want:
            return key
    if attrs.get("marketoption", "OnDemand") == CAPACITY_BLOCK:
        return CAPACITY_BLOCK
    return None


def _keep_product(product: Mapping[str, Any], src: _Source) -> bool:
    """True for accelerator products this parser prices; records unknown families."""
    attrs = product.get("attributes") or {}
    acc = _accelerator_family(attrs)
    if acc is None:
        return False
    fam, known = acc
    if not known:
        src.unknown_families.add(fam)
    why = _rejection(product)
    if why == CAPACITY_BLOCK:
        # Capacity Blocks are sold by reservation at a separate price; the offer file
        # lists them with a $0.00 hourly rate that is not an on-demand price.
        src.capacity_blocks_excluded += 1
    return why is None


def _gpu_fields(
    itype: str, attrs: Mapping[str, Any], result: ParseResult, src: _Source
) -> dict[str, Any]:
    fam = family_of(itype)
    info = families().get(fam)
    size = sizes().get(itype)
    count_attr = _number(attrs.get("gpu"))
    count: float | None = count_attr if count_attr and count_attr > 0 else None
    if size is not None and (count is None or size.gpu_count < 1):
        # The size table knows fractional slices (g6f) and accelerator chips the offer
        # file does not count in its `gpu` attribute (inf*, trn*).
        if count is not None and count != size.gpu_count:
            result.warnings.append(
                f"aws: {src.url}: {itype} gpu attribute {count} differs from "
                f"aws_instance_sizes.csv {size.gpu_count}; using the table"
            )
        count = size.gpu_count
    memory = (
        size.gpu_memory_gb
        if size and size.gpu_memory_gb
        else (info.gpu_memory_gb if info else None)
    )
    return {
        "gpu_count": count,
        "gpu_name_raw": info.gpu_name_raw if info else None,
        "gpu_model_hint": info.gpu_model_hint if info else None,
        "gpu_memory_gb": memory,
        "vcpus": _number(attrs.get("vcpu")) or (size.vcpus if size else None),
        "memory_gb": _gib(attrs.get("memory")) or (size.memory_gb if size else None),
    }


def _hourly_usd(term: Mapping[str, Any]) -> tuple[Decimal | None, Decimal, str | None]:
    """(recurring hourly, upfront fee, rate code) of one term, in USD."""
    hourly: Decimal | None = None
    upfront = Decimal(0)
    rate_code = None
    for dim in (term.get("priceDimensions") or {}).values():
        price = _decimal((dim.get("pricePerUnit") or {}).get("USD"))
        if price is None:
            continue
        unit = dim.get("unit")
        if unit == "Hrs":
            hourly = price
            rate_code = dim.get("rateCode")
        elif unit == "Quantity":
            upfront += price
    return hourly, upfront, rate_code


def _offers_for_product(
    sku: str,
    product: Mapping[str, Any],
    on_demand_terms: Mapping[str, Any],
    reserved_terms: Mapping[str, Any],
    src: _Source,
    result: ParseResult,
) -> None:
    attrs = product.get("attributes") or {}
    itype = str(attrs.get("instanceType"))
    region = attrs.get("regionCode") or src.region_hint or attrs.get("location")
    gpu = _gpu_fields(itype, attrs, result, src)
    if gpu["gpu_count"] is None:
        result.warnings.append(
            f"aws: {src.url}: {itype} sku {sku}: no GPU count in the offer or "
            "aws_instance_sizes.csv; skipped"
        )
        return
    base_extra = {
        "sku": sku,
        "instance_family_category": attrs.get("instanceFamily"),
        "physical_processor": attrs.get("physicalProcessor"),
        "gpu_attribute": attrs.get("gpu"),
        "gpu_memory_attribute": attrs.get("gpuMemory"),
        "usagetype": attrs.get("usagetype"),
        "operation": attrs.get("operation"),
        "current_generation": attrs.get("currentGeneration"),
        "offer_version": src.offer_version,
        "publication_date": src.publication_date,
    }
    common = dict(
        instance_type=itype,
        region=str(region),
        currency="USD",
        source_url=src.url,
        observed_at=src.observed_at,
        snapshot_sha256=src.sha256,
        **gpu,
    )
    for term in on_demand_terms.values():
        hourly, _, rate_code = _hourly_usd(term)
        if hourly is None:
            result.warnings.append(
                f"aws: {src.url}: {itype} sku {sku}: on-demand term without an "
                "hourly USD price; skipped"
            )
            continue
        if hourly <= 0:
            result.warnings.append(
                f"aws: {src.url}: {itype} sku {sku}: on-demand price {hourly}; skipped"
            )
            continue
        result.offers.append(
            Offer(
                pricing_model="on_demand",
                price_per_hour=float(hourly),
                price_unit_published="hour",
                extra={
                    **base_extra,
                    "rate_code": rate_code,
                    "effective_date": term.get("effectiveDate"),
                },
                **common,
            )
        )
    for term in reserved_terms.values():
        ta = term.get("termAttributes") or {}
        lease = ta.get("LeaseContractLength")
        offering_class = str(ta.get("OfferingClass", "")).lower()
        purchase = str(ta.get("PurchaseOption", ""))
        hourly, upfront, rate_code = _hourly_usd(term)
        if lease not in LEASE_YEARS or not offering_class or not purchase or hourly is None:
            result.warnings.append(
                f"aws: {src.url}: {itype} sku {sku}: reserved term "
                f"{term.get('offerTermCode')} with lease {lease!r}, class "
                f"{offering_class!r}, option {purchase!r}; skipped"
            )
            continue
        effective = hourly + upfront / (HOURS_PER_YEAR * LEASE_YEARS[lease])
        purchase_id = purchase.lower().replace(" ", "_")
        result.offers.append(
            Offer(
                pricing_model=RESERVED_MODEL[lease],
                price_per_hour=float(effective),
                price_unit_published="hour+upfront" if upfront else "hour",
                term=f"{offering_class}/{purchase_id}",
                upfront_fee=float(upfront),
                extra={
                    **base_extra,
                    "lease_contract_length": lease,
                    "offering_class": offering_class,
                    "purchase_option": purchase,
                    "recurring_per_hour": float(hourly),
                    "upfront_fee": float(upfront),
                    "offer_term_code": term.get("offerTermCode"),
                    "rate_code": rate_code,
                    "effective_date": term.get("effectiveDate"),
                },
                **common,
            )
        )


def _finish(src: _Source, result: ParseResult) -> ParseResult:
    for fam in sorted(src.unknown_families):
        result.unknown.append(
            f"aws: instance family {fam!r} (accelerator attributes in {src.url}) "
            "is missing from aws_instance_families.csv"
        )
    if src.capacity_blocks_excluded:
        result.warnings.append(
            f"aws: {src.url}: excluded {src.capacity_blocks_excluded} Capacity "
            "Block product(s) (listed at $0.00, not an on-demand price)"
        )
    return result


# --------------------------------------------------------------------------- offer files

_OFFER_URL_REGION_RE = re.compile(r"/AmazonEC2/[^/]+/([a-z0-9-]+)/index\.json")


def _source(r: Response) -> _Source:
    m = _OFFER_URL_REGION_RE.search(r.url)
    return _Source(
        url=r.url, observed_at=r.fetched_at, sha256=r.sha256, region_hint=m.group(1) if m else None
    )


def _parse_offer_file(r: Response) -> ParseResult:
    result = ParseResult()
    src = _source(r)
    try:
        scan = _scan_offer_file(r, src)
    except _LayoutSurprise as exc:
        # The fast scan relies on the layout of the live files (products before terms,
        # each product's "sku" before its attributes, terms grouped per SKU under
        # OnDemand / Reserved, each term naming its "sku"); anything else gets the
        # slower, layout-independent ijson path (bounded memory too).
        result.warnings.append(f"aws: {r.url}: fast scan not possible ({exc}); used ijson")
        src = replace(src, capacity_blocks_excluded=0, unknown_families=set())
        scan = _scan_offer_file_ijson(r, src)
    if not scan.has_products:
        raise ParseError(NAME, r.url, "offer file without products", field="products")
    for sku, product in scan.products.items():
        _offers_for_product(
            sku, product, scan.on_demand.get(sku, {}), scan.reserved.get(sku, {}), src, result
        )
    return _finish(src, result)


@dataclass
class _Scan:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # GPU SKUs only
    on_demand: dict[str, dict[str, Any]] = field(default_factory=dict)
    reserved: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_products: bool = False


class _LayoutSurprise(Exception):
    """The offer file does not have the layout the fast scanner expects."""


_HEADER_FIELD_RE = re.compile(r'"(offerCode|version|publicationDate)"\s*:\s*"([^"\\]*)"')
_PRODUCTS_RE = re.compile(r'"products"\s*:\s*\{')
# Every term names its SKU (`"sku" : "<sku>"`): a literal the regex engine finds at
# memchr-like speed, so the terms scan never tokenizes the JSON it skips.
_SKU_FIELD_RE = re.compile(r'"sku"\s*:\s*"([^"\\]+)"')
_OPENS_OBJECT_RE = re.compile(r'"\s*:\s*\{')
TERM_TYPES = ("OnDemand", "Reserved")
_HEAD_CHARS = 1 << 20
_WINDOW_CHARS = 8 << 20
# Text kept before the scan position when the window slides: a SKU's block key sits a few
# hundred chars before the first `"sku"` field inside it.
_BACK_CHARS = 1 << 16
# Room a single product / SKU term block may take; larger ones extend the buffer.
_ITEM_MARGIN_CHARS = 1 << 20


class _TextWindow:
    """A sliding window of decoded text over a binary stream: bounded memory."""

    def __init__(self, fh: BinaryIO) -> None:
        self._text = io.TextIOWrapper(fh, encoding="utf-8")
        self.buf = ""
        self.base = 0  # absolute char offset of buf[0]
        self.eof = False

    def fill(self, pos: int, need: int) -> None:
        """Make sure buf holds `need` chars from `pos` (or everything up to EOF)."""
        while not self.eof and len(self.buf) - pos < need:
            chunk = self._text.read(max(_WINDOW_CHARS, need))
            if not chunk:
                self.eof = True
            else:
                self.buf += chunk

    def drop(self, pos: int) -> int:
        """Forget everything before pos; return pos's new (relative) position, 0."""
        self.buf = self.buf[pos:]
        self.base += pos
        return 0

    def advance(self, pos: int) -> tuple[int, int]:
        """Slide to `pos`, keeping `_BACK_CHARS` behind it (a match may need to look back
        for its enclosing object) and reading a window ahead. Returns `pos` relative to
        the new buffer and the scan limit: items starting before it are complete in the
        buffer (`_ITEM_MARGIN_CHARS` short of the end, unless at EOF)."""
        keep_from = max(0, pos - _BACK_CHARS)
        self.drop(keep_from)
        pos -= keep_from
        self.fill(pos, _WINDOW_CHARS)
        limit = len(self.buf) if self.eof else len(self.buf) - _ITEM_MARGIN_CHARS
        return pos, limit


def _scan_offer_file(r: Response, src: _Source) -> _Scan:
    """One pass over the file, memory bounded by the text window and the kept SKUs.

    Neither the products (first part of the file) nor the terms (the rest) are tokenized
    in Python: fast substring and regex searches find the few places that matter (an
    accelerator product; a term of a kept SKU), and only the enclosing object is decoded
    with the C JSON decoder. Each decoded object is checked to contain the place that led
    to it, so a file that does not have the documented layout raises `_LayoutSurprise`
    (and gets the ijson path) instead of silently losing rows.
    """
    scan = _Scan()
    decoder = json.JSONDecoder()
    with r.open() as fh:
        win = _TextWindow(fh)
        win.fill(0, _HEAD_CHARS)
        m = _PRODUCTS_RE.search(win.buf, 0, _HEAD_CHARS)
        if not m:
            raise _LayoutSurprise("no products object near the start")
        scan.has_products = True
        for key, value in _HEADER_FIELD_RE.findall(win.buf, 0, m.start()):
            if key == "version":
                src.offer_version = value
            elif key == "publicationDate":
                src.publication_date = value
        terms_at = _scan_products(win, m.end(), decoder, scan, src, r)
        if terms_at is not None:
            _scan_terms(win, terms_at, decoder, scan, r)
    return scan


_ACCELERATOR_MARKERS = ('"gpu"', *sorted(ACCELERATOR_CATEGORIES))
_TERMS_OBJECT_RE = re.compile(r'"terms"\s*:\s*\{\s*"(\w+)"\s*:\s*\{')
# Longest marker: consecutive windows overlap by this much so no marker straddles a cut.
_MARKER_OVERLAP_CHARS = 256


def _object_at_key(buf: str, key: str, before: int) -> int:
    """Index of the `{` of the nearest `"key" : {` before `before`, or -1."""
    quoted = f'"{key}"'
    j = buf.rfind(quoted, 0, before)
    while j != -1:
        m = _OPENS_OBJECT_RE.match(buf, j + len(quoted) - 1)
        if m:
            return m.end() - 1
        j = buf.rfind(quoted, 0, j)
    return -1


def _scan_products(
    win: _TextWindow, pos: int, decoder: json.JSONDecoder, scan: _Scan, src: _Source, r: Response
) -> int | None:
    """Keep the accelerator products; return the window position of `terms{`'s first key.

    A product is an accelerator candidate when its text has an `instanceType` of a family
    in the table, a `"gpu"` key or an accelerator category name: exactly the conditions
    `_accelerator_family` tests, so no candidate is missed. From such a marker the product
    is found backwards through its `"sku"` field and its key `"<sku>" : {`.
    """
    type_re = re.compile(r'"instanceType"\s*:\s*"(?:' + _trie_pattern(sorted(families())) + r")\.")
    covered_until = -1  # absolute end of the last decoded product
    while True:
        pos, limit = win.advance(pos)
        buf = win.buf
        tm = _TERMS_OBJECT_RE.search(buf, pos, min(len(buf), limit + _MARKER_OVERLAP_CHARS))
        stop = tm.start() if tm else limit
        hits = [m.start() for m in type_re.finditer(buf, pos, stop)]
        for marker in _ACCELERATOR_MARKERS:
            i = buf.find(marker, pos, stop)
            while i != -1:
                hits.append(i)
                i = buf.find(marker, i + 1, stop)
        resume = stop
        for hit in sorted(hits):
            if win.base + hit < covered_until:
                continue
            at = buf.rfind('"sku"', 0, hit)
            sm = _SKU_FIELD_RE.match(buf, at) if at != -1 else None
            start = _object_at_key(buf, sm.group(1), at) if sm else -1
            if sm is None or start == -1:
                raise _LayoutSurprise(
                    f"accelerator marker at char {win.base + hit} outside a product"
                )
            product, end = _decode_at(decoder, win, start, r, "products")
            sku = sm.group(1)
            if (
                not (start < hit < end)
                or not isinstance(product, dict)
                or product.get("sku") != sku
            ):
                raise _LayoutSurprise(
                    f"product around char {win.base + hit} has an unexpected layout"
                )
            covered_until = win.base + end
            resume = max(resume, end)
            if _keep_product(product, src):
                scan.products[sku] = product
        if tm:
            return tm.start(1) - 1  # the `"` of the first term type: _scan_terms sees its key
        if win.eof:
            return None  # a file without terms: products only
        pos = max(resume, limit - _MARKER_OVERLAP_CHARS)


def _trie_pattern(words: Sequence[str]) -> str:
    """A regex alternation of distinct `words`, factored into a trie: matching costs a few
    character tests per position instead of one test per word."""
    if len(words) == 1:
        return re.escape(words[0])
    groups: dict[str, list[str]] = {}
    optional = False
    for w in words:
        if w:
            groups.setdefault(w[0], []).append(w[1:])
        else:
            optional = True
    parts = [
        re.escape(c) + ("" if rest == [""] else _trie_pattern(rest)) for c, rest in groups.items()
    ]
    body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
    return f"(?:{body})?" if optional else body


def _scan_terms(
    win: _TextWindow, pos: int, decoder: json.JSONDecoder, scan: _Scan, r: Response
) -> None:
    """Find the term blocks of the kept SKUs; skip everything else without decoding it.

    Layout (documented): `terms{<type>{<sku>{"<sku>.<offerTermCode>": term}}}`, each term
    carrying `"sku"`. For a kept SKU's first `"sku"` field, the block key `"<sku>" : {`
    is the nearest preceding exact `"<sku>"` that opens an object; the whole block is
    decoded and the scan resumes after it.
    """
    wanted = scan.products
    if not wanted:
        return
    # Only the kept SKUs' fields match: the regex engine skips all other terms in C.
    sku_field_re = re.compile(r'"sku"\s*:\s*"(' + _trie_pattern(sorted(wanted)) + ')"')
    sections: list[tuple[int, str]] = []  # (absolute offset, term type), in file order
    covered_until = -1  # absolute end of the last decoded block
    while True:
        pos, limit = win.advance(pos)
        buf = win.buf
        for name in TERM_TYPES:
            if any(n == name for _, n in sections):
                continue
            i = buf.find(f'"{name}"', pos)
            while i != -1 and i < limit:
                if _OPENS_OBJECT_RE.match(buf, i + len(name) + 1):
                    sections.append((win.base + i, name))
                    break
                i = buf.find(f'"{name}"', i + 1)
        sections.sort()
        pos_next = limit
        for m in sku_field_re.finditer(buf, pos):
            if m.start() >= limit:
                pos_next = m.start()
                break
            sku = m.group(1)
            if win.base + m.start() < covered_until:
                continue
            brace = _object_at_key(buf, sku, m.start())
            if brace == -1:
                raise _LayoutSurprise(f"term of sku {sku} outside a '{sku}' block")
            block, end = _decode_at(decoder, win, brace, r, "terms")
            if not brace < m.start() < end:
                raise _LayoutSurprise(f"term of sku {sku} outside its block")
            section = next((n for at, n in reversed(sections) if at < win.base + brace), None)
            _take_terms(sku, section, block, scan)
            covered_until = win.base + end
            if end > limit:  # the block ran past the window: continue after it
                pos_next = end
                break
        pos = pos_next
        if win.eof and pos >= limit:
            break
    missing = [sku for sku in wanted if sku not in scan.on_demand]
    if missing and len(missing) == len(wanted):
        raise _LayoutSurprise(f"no OnDemand terms found for {len(missing)} accelerator SKUs")


def _decode_at(
    decoder: json.JSONDecoder, win: _TextWindow, pos: int, r: Response, where: str
) -> tuple[Any, int]:
    need = _ITEM_MARGIN_CHARS
    while True:
        try:
            return decoder.raw_decode(win.buf, pos)
        except json.JSONDecodeError as exc:
            if win.eof:
                raise ParseError(
                    NAME, r.url, f"invalid JSON: {exc.msg} at char {exc.pos}", field=where
                ) from None
            need *= 4  # an item larger than the margin: read more and retry
            win.fill(pos, need)


def _take_terms(sku: str, section: str | None, block: Any, scan: _Scan) -> None:
    if section not in TERM_TYPES:
        raise _LayoutSurprise(f"terms of sku {sku} outside the OnDemand / Reserved sections")
    if not isinstance(block, dict):
        raise _LayoutSurprise(f"terms of sku {sku} are not an object")
    for code, term in block.items():
        is_reserved = isinstance(term, dict) and "LeaseContractLength" in (
            term.get("termAttributes") or {}
        )
        # A term's content must agree with the section the scan put it in.
        if (
            not isinstance(term, dict)
            or term.get("sku", sku) != sku
            or is_reserved != (section == "Reserved")
        ):
            raise _LayoutSurprise(f"term {code} does not fit section {section} of sku {sku}")
    target = scan.on_demand if section == "OnDemand" else scan.reserved
    target.setdefault(sku, {}).update(block)


def _scan_offer_file_ijson(r: Response, src: _Source) -> _Scan:
    """Layout-independent fallback: three ijson passes (products, OnDemand, Reserved)."""
    scan = _Scan()
    with r.open() as fh:
        for prefix, event, value in ijson.parse(fh):
            if prefix == "version" and event == "string":
                src.offer_version = value
            elif prefix == "publicationDate" and event == "string":
                src.publication_date = value
            elif prefix == "products":
                break
    with r.open() as fh:
        for sku, product in ijson.kvitems(fh, "products", use_float=True):
            scan.has_products = True
            if isinstance(product, dict) and _keep_product(product, src):
                scan.products[sku] = product
    for section, target in (("OnDemand", scan.on_demand), ("Reserved", scan.reserved)):
        with r.open() as fh:
            for sku, block in ijson.kvitems(fh, f"terms.{section}", use_float=True):
                if sku in scan.products:
                    target[sku] = block
    return scan


# --------------------------------------------------------------------------- GetProducts


def _price_list_items(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict) and "PriceList" in doc:
        for item in doc["PriceList"]:
            # The live API returns each entry as a JSON string; SDK fixtures as objects.
            yield json.loads(item) if isinstance(item, str) else item
    elif isinstance(doc, dict) and "product" in doc:
        yield doc


def _parse_get_products(r: Response) -> ParseResult:
    """Pricing API `GetProducts` pages or single PriceList items (same product/term shapes)."""
    result = ParseResult()
    src = _source(r)
    try:
        doc = json.loads(r.read())
    except ValueError as exc:
        raise ParseError(NAME, r.url, f"invalid JSON ({exc})", field="PriceList") from None
    for item in _price_list_items(doc):
        product = item.get("product") or {}
        sku = product.get("sku", "")
        src.offer_version = item.get("version")
        src.publication_date = item.get("publicationDate")
        if not _keep_product(product, src):
            continue
        terms = item.get("terms") or {}
        _offers_for_product(
            sku, product, terms.get("OnDemand") or {}, terms.get("Reserved") or {}, src, result
        )
    return _finish(src, result)


# --------------------------------------------------------------------------- spot feed

# `callback({...});` — the spot.js form; spot.json is the same object without the wrapper.
_JSONP_RE = re.compile(r"^\s*(?:/\*.*?\*/\s*)?[A-Za-z_$][\w$.]*\s*\(", re.DOTALL)


def _spot_json(r: Response) -> Any:
    text = r.read().decode("utf-8")
    m = _JSONP_RE.match(text)
    if m:
        text = text[m.end() :].rstrip().rstrip(";").rstrip()
        if not text.endswith(")"):
            raise ParseError(NAME, r.url, "JSONP wrapper without closing ')'", field="callback")
        text = text[:-1]
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(NAME, r.url, f"invalid spot feed JSON ({exc})", field="config") from None


def _parse_spot_feed(r: Response) -> ParseResult:
    result = ParseResult()
    doc = _spot_json(r)
    try:
        config = doc["config"]
        regions = config["regions"]
        currencies = config.get("currencies") or ["USD"]
    except (KeyError, TypeError):
        raise ParseError(
            NAME, r.url, "spot feed without config.regions", field="config.regions"
        ) from None
    currency = currencies[0]
    sha = r.sha256
    legacy = spot_regions()
    unknown_families: set[str] = set()
    not_available = 0
    for region_block in regions:
        raw_region = region_block.get("region", "")
        region = legacy.get(raw_region, raw_region)
        if not REGION_CODE_RE.match(region):
            result.unknown.append(
                f"aws: spot region name {raw_region!r} in {r.url} is missing "
                "from aws_spot_regions.csv"
            )
        for group in region_block.get("instanceTypes") or []:
            group_type = str(group.get("type", ""))
            for size in group.get("sizes") or []:
                itype = str(size.get("size", ""))
                fam = family_of(itype)
                info = families().get(fam)
                if info is None:
                    if group_type.lower().startswith("gpu"):
                        unknown_families.add(fam)
                    continue
                price_raw = next(
                    (
                        (vc.get("prices") or {}).get(currency)
                        for vc in size.get("valueColumns") or []
                        if vc.get("name") == "linux"
                    ),
                    None,
                )
                if price_raw is None or str(price_raw).startswith(SPOT_NOT_AVAILABLE_PREFIX):
                    not_available += 1  # "N/A*": not offered as spot in that region
                    continue
                price = _decimal(price_raw)  # strings, some in scientific notation ("9.0E-4")
                if price is None or price <= 0:
                    result.warnings.append(
                        f"aws: {r.url}: {raw_region} {itype} spot price "
                        f"{price_raw!r} unreadable; skipped"
                    )
                    continue
                spec = sizes().get(itype)
                if spec is None:
                    result.warnings.append(
                        f"aws: {r.url}: {itype} missing from "
                        "aws_instance_sizes.csv (no GPU count); skipped"
                    )
                    result.unknown.append(
                        f"aws: instance size {itype!r} is missing from aws_instance_sizes.csv"
                    )
                    continue
                result.offers.append(
                    Offer(
                        instance_type=itype,
                        region=region,
                        pricing_model="spot",
                        currency=currency,
                        price_per_hour=float(price),
                        price_unit_published="hour",
                        gpu_count=spec.gpu_count,
                        gpu_name_raw=info.gpu_name_raw,
                        gpu_model_hint=info.gpu_model_hint,
                        gpu_memory_gb=spec.gpu_memory_gb,
                        vcpus=spec.vcpus,
                        memory_gb=spec.memory_gb,
                        source_url=r.url,
                        observed_at=r.fetched_at,
                        snapshot_sha256=sha,
                        extra={
                            "spot_region_name": raw_region,
                            "spot_group": group_type,
                            "feed_version": doc.get("vers"),
                        },
                    )
                )
    for fam in sorted(unknown_families):
        result.unknown.append(
            f"aws: instance family {fam!r} (spot feed GPU group in {r.url}) is "
            "missing from aws_instance_families.csv"
        )
    if not_available:
        result.warnings.append(
            f"aws: {r.url}: {not_available} accelerator spot price(s) 'N/A*' "
            "(not offered in that region)"
        )
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="Amazon Web Services EC2",
    pricing_page_url="https://aws.amazon.com/ec2/pricing/on-demand/",
    source_urls=(
        PRICING_BASE_URL + OFFER_INDEX_PATH,
        PRICING_BASE_URL + "/offers/v1.0/aws/AmazonEC2/current/region_index.json",
        SPOT_BASE_URL + "/" + SPOT_FEED_PATH,
    ),
    pricing_models=("on_demand", "reserved_1y", "reserved_3y", "spot"),
    validated_against=(
        "recorded response: offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-excerpt.json (2024-05-28), "
        "offer-file_AmazonEC2_region_index_2025-05-23.json (2025-05-23), "
        "pricing-api_GetProducts_PriceList-item_m5.large_us-east-1_2021-02-05_OnDemand+Reserved.json "
        "(2021-02-05), spot-price-feed_spot.json_2026-08_af-south-1_excerpt.json (2026-08-10), "
        "spot-price-feed_spot.js-body_2021-04_5regions.json (2021-04), legacy_spot.js_2014-04.js (2014-04)"
    ),
    default_base_url=PRICING_BASE_URL,
    extra_base_urls={"spot": SPOT_BASE_URL},
    fetch=fetch,
    parse=parse,
    default_cadence="0 3 * * *",
    separable_parse=True,
    notes="Offer files stream to disk and are parsed in bounded memory; an unchanged offer "
    "version is not downloaded again. Settings: AWS_REGIONS (comma list) restricts regions.",
)
