"""AWS bulk offer files (`/offers/v1.0/aws/AmazonEC2/<version>/<region>/index.json`):
a streaming scan in bounded memory, with an exact, layout-independent fallback.

One cohesive thing, hence one module of ~500 lines: the fast scanner, the window it
slides over the file, the end-of-document check that makes truncation an error, and the
ijson fallback it hands over to when the file surprises it.

The fast scan never tokenizes the JSON it skips: substring and regex searches find the
few places that matter (an accelerator product; a term of a kept SKU), and only the
enclosing object is decoded with the C JSON decoder. It does not depend on whitespace
(`"k" : v`, `"k": v`, compact, any indentation) or on the order of members inside a
product or a term; every decoded object is checked to contain the place that led to it,
so an unexpected layout raises `_LayoutSurprise` and gets the ijson path instead of
silently losing rows.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import ijson

from scrapers import _toolkit as tk
from scrapers.aws.offers import (
    ACCELERATOR_CATEGORIES,
    OfferContext,
    context,
    finish,
    keep_product,
    offers_for_product,
)
from scrapers.aws.tables import NAME, families
from scrapers.base import ParseError, ParseResult, Response


def parse_offer_file(r: Response) -> ParseResult:
    result = ParseResult()
    src = context(r)
    try:
        scan = _scan_offer_file(r, src)
    except _LayoutSurprise as exc:
        # The fast scan relies on the documented structure (products before terms, terms
        # grouped per SKU under OnDemand / Reserved, each term naming its "sku", a valid
        # end of document); anything else gets the slower, layout-independent ijson path
        # (bounded memory too), which also decides whether the document is valid at all.
        result.warnings.append(f"aws: {r.url}: fast scan not possible ({exc}); used ijson")
        src = replace(src, capacity_blocks_excluded=0, unknown_families=set())
        scan = _scan_offer_file_ijson(r, src)
    if not scan.has_products:
        raise ParseError(NAME, r.url, "offer file without products", field="products")
    rows = tk.Rows(NAME, result)
    for sku, product in scan.products.items():
        offers_for_product(
            sku, product, scan.on_demand.get(sku, {}), scan.reserved.get(sku, {}), src, rows
        )
    return finish(src, result)


@dataclass
class _Scan:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # GPU SKUs only
    on_demand: dict[str, dict[str, Any]] = field(default_factory=dict)
    reserved: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_products: bool = False


class _LayoutSurprise(Exception):
    """The offer file does not have the layout the fast scanner expects."""


_HEADER_FIELDS = ("offerCode", "version", "publicationDate")
_HEADER_FIELD_RE = re.compile(r'"(offerCode|version|publicationDate)"\s*:\s*"([^"\\]*)"')
_PRODUCTS_RE = re.compile(r'"products"\s*:\s*\{')
# Every term names its SKU (`"sku" : "<sku>"`): a literal the regex engine finds at
# memchr-like speed, so the terms scan never tokenizes the JSON it skips.
_OPENS_OBJECT_RE = re.compile(r'"\s*:\s*\{')
# `"<key>" : {` anywhere: candidates for the object enclosing a marker.
_KEY_OPENS_OBJECT_RE = re.compile(r'"([^"\\]+)"\s*:\s*\{')
_KEY_COLON_RE = re.compile(r'"(?:[^"\\]|\\.)*"\s*:\s*')
TERM_TYPES = ("OnDemand", "Reserved")
_HEAD_CHARS = 1 << 20
_WINDOW_CHARS = 8 << 20
# Text kept before the scan position when the window slides: a SKU's block key sits a few
# hundred chars before the first `"sku"` field inside it.
_BACK_CHARS = 1 << 16
# Room a single product / SKU term block may take; larger ones extend the buffer.
_ITEM_MARGIN_CHARS = 1 << 20
# How far back from a marker the enclosing product may start, and how many `"k": {`
# candidates are tried (the product's own key is the 2nd in the live layout: its
# `attributes` object comes first).
_PRODUCT_LOOKBACK_CHARS = 1 << 14
_MAX_CANDIDATES = 8
# Where the end-of-document check looks for the last complete product / SKU block.
_TAIL_CHARS = 1 << 20
_JSON_WS = " \t\r\n"


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

    def to_end(self) -> None:
        """Read to EOF keeping only the last `_TAIL_CHARS` (for the end check)."""
        while not self.eof:
            if len(self.buf) > _TAIL_CHARS:
                self.drop(len(self.buf) - _TAIL_CHARS)
            self.fill(len(self.buf), _WINDOW_CHARS)


def _scan_offer_file(r: Response, src: OfferContext) -> _Scan:
    """One pass over the file, memory bounded by the text window and the kept SKUs."""
    scan = _Scan()
    decoder = json.JSONDecoder()
    with r.open() as fh:
        win = _TextWindow(fh)
        win.fill(0, _HEAD_CHARS)
        m = _PRODUCTS_RE.search(win.buf, 0, _HEAD_CHARS)
        if not m:
            raise _LayoutSurprise("no products object near the start")
        scan.has_products = True
        _header_fields(win.buf, 0, m.start(), src)
        terms_at = _scan_products(win, m.end(), decoder, scan, src, r)
        if terms_at is not None:
            _scan_terms(win, terms_at, decoder, scan, r)
        win.to_end()
        _check_document_end(win, decoder, r)
        # Top-level fields after the products (e.g. a serializer that sorts keys) sit in
        # the last window; only looked for when the head did not have them.
        _header_fields(win.buf, max(0, len(win.buf) - _PRODUCT_LOOKBACK_CHARS), None, src)
    return scan


def _header_fields(buf: str, start: int, end: int | None, src: OfferContext) -> None:
    """Set the top-level header fields found in buf[start:end] that are still unset.

    Found with `str.find` (fast) rather than a regex starting at every quote; the keys
    `version` / `publicationDate` / `offerCode` occur only at the top level of an offer
    file (products and terms have no such members)."""
    end = len(buf) if end is None else end
    for key in _HEADER_FIELDS:
        attr = {"version": "offer_version", "publicationDate": "publication_date"}.get(key)
        if attr is None or getattr(src, attr) is not None:
            continue
        i = buf.rfind(f'"{key}"', start, end)
        m = _HEADER_FIELD_RE.match(buf, i) if i != -1 else None
        if m:
            setattr(src, attr, m.group(2))


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


def _product_around(
    win: _TextWindow, hit: int, decoder: json.JSONDecoder
) -> tuple[str, dict[str, Any], int]:
    """The product enclosing char `hit`: (sku, product, end). A product is the object of
    a `"<sku>" : {` key whose `sku` member is that key, wherever its members sit."""
    lo = max(0, hit - _PRODUCT_LOOKBACK_CHARS)
    candidates = list(_KEY_OPENS_OBJECT_RE.finditer(win.buf, lo, hit))
    for m in reversed(candidates[-_MAX_CANDIDATES:]):
        start = m.end() - 1
        decoded = _try_decode_at(decoder, win, start)
        if decoded is None:
            continue
        obj, end = decoded
        if start < hit < end and isinstance(obj, dict) and obj.get("sku") == m.group(1):
            return m.group(1), obj, end
    raise _LayoutSurprise(f"accelerator marker at char {win.base + hit} outside a product")


def _scan_products(
    win: _TextWindow,
    pos: int,
    decoder: json.JSONDecoder,
    scan: _Scan,
    src: OfferContext,
    r: Response,
) -> int | None:
    """Keep the accelerator products; return the window position of `terms{`'s first key.

    A product is an accelerator candidate when its text has an `instanceType` of a family
    in the table, a `"gpu"` key or an accelerator category name: exactly the conditions
    `accelerator_family` tests, so no candidate is missed.
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
            sku, product, end = _product_around(win, hit, decoder)
            covered_until = win.base + end
            resume = max(resume, end)
            if keep_product(product, src):
                scan.products[sku] = product
        if tm:
            # Top-level fields between products and terms (serializers that sort keys).
            _header_fields(buf, max(pos, tm.start() - _PRODUCT_LOOKBACK_CHARS), tm.start(), src)
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


def _try_decode_at(decoder: json.JSONDecoder, win: _TextWindow, pos: int) -> tuple[Any, int] | None:
    """Decode the value at `pos`, or None when it is not valid JSON there (a candidate
    that is not an object start). Reads more only while the window may hold too little."""
    while True:
        try:
            return decoder.raw_decode(win.buf, pos)
        except json.JSONDecodeError:
            if win.eof or len(win.buf) - pos >= _ITEM_MARGIN_CHARS:
                return None
            win.fill(pos, _ITEM_MARGIN_CHARS)


def _check_document_end(win: _TextWindow, decoder: json.JSONDecoder, r: Response) -> None:
    """The file must end as a complete offer file, or it was cut short.

    The scan skips most of the text undecoded, so a file cut after the last kept SKU
    would otherwise pass. The last complete product (depth 2: root > products) or SKU
    term block (depth 3: root > terms > OnDemand/Reserved) in the final window anchors the
    check: from its end, only `, "key": value` members and closing braces may follow, and
    the root must close exactly at the end of the file. Anything else is a `_LayoutSurprise`:
    the exact ijson path then either reads a valid document or reports where it breaks.
    """
    buf = win.buf
    lo = max(0, len(buf) - _TAIL_CHARS)
    for m in reversed(list(_KEY_OPENS_OBJECT_RE.finditer(buf, lo))):
        decoded = _try_decode_at(decoder, win, m.end() - 1)
        if decoded is None or not isinstance(decoded[0], dict) or not decoded[0]:
            continue
        obj, end = decoded
        key = m.group(1)
        if obj.get("sku") == key:
            depth = 2
        elif all(isinstance(t, dict) and t.get("sku") == key for t in obj.values()):
            depth = 3
        else:
            continue
        if _closes_document(buf, end, depth, decoder):
            return
        raise _LayoutSurprise(f"the document does not end after char {win.base + end}")
    raise _LayoutSurprise("no complete product or term block near the end of the file")


def _closes_document(buf: str, pos: int, depth: int, decoder: json.JSONDecoder) -> bool:
    """True when buf[pos:] is `depth` open objects' remaining members and closing braces,
    then only whitespace: the tail of a complete document."""
    n = len(buf)

    def skip(i: int) -> int:
        while i < n and buf[i] in _JSON_WS:
            i += 1
        return i

    i = skip(pos)
    while depth > 0:
        if i >= n:
            return False
        if buf[i] == "}":
            depth -= 1
            i = skip(i + 1)
            continue
        if buf[i] != ",":
            return False
        key = _KEY_COLON_RE.match(buf, skip(i + 1))
        if key is None:
            return False
        try:
            _, i = decoder.raw_decode(buf, key.end())
        except json.JSONDecodeError:
            return False
        i = skip(i)
    return i == n


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


def _scan_offer_file_ijson(r: Response, src: OfferContext) -> _Scan:
    """Layout-independent fallback: ijson passes (header, products, OnDemand, Reserved).

    Each pass reads to the end of the document, so a truncated or invalid file is a
    ParseError here, never a partial set of offers."""
    scan = _Scan()
    try:
        with r.open() as fh:
            for prefix, event, value in ijson.parse(fh):
                if prefix == "version" and event == "string":
                    src.offer_version = value
                elif prefix == "publicationDate" and event == "string":
                    src.publication_date = value
                elif prefix == "products" and src.offer_version and src.publication_date:
                    break  # the live layout: header first; later passes read to the end
        with r.open() as fh:
            for sku, product in ijson.kvitems(fh, "products", use_float=True):
                scan.has_products = True
                if isinstance(product, dict) and keep_product(product, src):
                    scan.products[sku] = product
        for section, target in (("OnDemand", scan.on_demand), ("Reserved", scan.reserved)):
            with r.open() as fh:
                for sku, block in ijson.kvitems(fh, f"terms.{section}", use_float=True):
                    if sku in scan.products:
                        target[sku] = block
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, EOFError) as exc:
        raise ParseError(
            NAME, r.url, f"invalid or truncated JSON ({exc})", field="document"
        ) from None
    return scan
