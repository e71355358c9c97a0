"""Parsing archived responses: a provider's pure `parse`, response by response through the
parse cache for separable providers, then normalized into the observation frame."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.ingest.archive import Archive
from pipelines.ingest.normalize import offers_to_frame
from pipelines.ingest.parse_cache import ParseCache
from scrapers import _toolkit as scrapers_toolkit
from scrapers import base as scrapers_base
from scrapers.base import (
    ParseResult,
    ProviderSpec,
    Response,
)

log = logging.getLogger("pipelines.ops.parsing")


def materialize(archive: Archive, provider: str, responses: list[Response]) -> list[Response]:
    """Swap "not modified" responses for the archived body they stand for."""
    out = []
    for r in responses:
        if r.not_modified:
            entry = {
                "url": r.url,
                "fetched_at": r.fetched_at.isoformat(),
                "sha256": r.sha256_hex,
                "status": 200,
                "headers": dict(r.headers),
                "kind": r.kind,
            }
            out.append(archive.response(provider, entry))
        else:
            out.append(r)
    return out


def parser_fingerprint(spec: ProviderSpec) -> str:
    """Hash of what a provider's parse depends on: its module and its data tables."""
    import sys

    h = hashlib.sha256()
    module = sys.modules.get(spec.parse.__module__)
    files = [Path(module.__file__)] if module is not None and module.__file__ else []
    if files and files[0].name == "__init__.py":  # a provider package (scrapers/aws/)
        files = sorted(files[0].parent.glob("*.py"))
    # The shared provider code every parse uses.
    files += [Path(m.__file__) for m in (scrapers_toolkit, scrapers_base) if m.__file__]
    data_dir = Path(__file__).resolve().parents[2] / "scrapers" / "data"
    files += sorted(data_dir.glob(f"{spec.name}_*.csv"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


# The last bodies parsed in this process, by (provider, parser fingerprint, sha256): an
# imported history comes back to a body a few snapshots later (an Azure region file that
# changed and changed back), and reading the cache file again costs more than these small
# formats' parse. Bounded by offers held (an AWS region body alone can hold thousands).
_RECENT: OrderedDict[tuple[str, str, str], ParseResult] = OrderedDict()
_RECENT_MAX_OFFERS = 50_000


def parse_cached(spec: ProviderSpec, responses: list[Response], cache_dir: Path) -> ParseResult:
    """Parse response by response, reusing the result of any body parsed before.

    The cache holds plain JSON keyed by body sha256 and parser fingerprint (see
    pipelines/ingest/parse_cache.py: never a pickle, since its key comes from archives other
    people share). Cached offers are re-timed to the response they now stand for
    (`observed_at`), so an unchanged file still confirms its offers as seen at this run's time.
    """
    import dataclasses

    cache = ParseCache(cache_dir)
    fp = parser_fingerprint(spec)
    out = ParseResult()
    for r in responses:
        sha = r.sha256
        key = (spec.name, fp, sha)
        part = _RECENT.get(key)
        if part is None:
            part = cache.get(spec.name, fp, sha)
        fresh = part is None
        if fresh:
            part = spec.parse([r])
            cache.put(spec.name, fp, sha, part)
        _remember(key, part)
        if not fresh:
            part = ParseResult(
                offers=[
                    dataclasses.replace(
                        o, observed_at=r.fetched_at, source_url=r.url, snapshot_sha256=sha
                    )
                    for o in part.offers
                ],
                warnings=list(part.warnings),
                unknown=list(part.unknown),
            )
        out.extend(part)
    return out


def _remember(key: tuple[str, str, str], part: ParseResult) -> None:
    if len(part.offers) > _RECENT_MAX_OFFERS:
        return
    _RECENT[key] = part
    _RECENT.move_to_end(key)
    while sum(len(p.offers) for p in _RECENT.values()) > _RECENT_MAX_OFFERS:
        _RECENT.popitem(last=False)


def parse(
    spec: ProviderSpec, responses: list[Response], fx, cache_dir: Path | None = None
) -> tuple[pd.DataFrame, Any]:
    if spec.separable_parse and cache_dir is not None:
        result = parse_cached(spec, responses, cache_dir)
    else:
        result = spec.parse(responses)
    df = offers_to_frame(spec.name, result, fx, spec.gpu_rules_of)
    return df, result
