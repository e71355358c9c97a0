"""The parse cache: offers parsed from one response body, kept as plain JSON data.

A separable provider (AWS: one multi-hundred-MB offer file per region) is parsed response
by response; the result for a body is stored under

    <state>/parse-cache/<provider>/<parser fingerprint>-<body sha256>.json.gz

and reused while the parser and its data tables are unchanged. The cache lives in the
state directory but its key comes from archives other people share, so it holds data
only (never pickles or anything else that can run code), every file names the key it was
written for, and a file that does not parse, does not match its key or does not have the
exact shape of an `Offer` list is a miss: it is parsed again and overwritten.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import operator
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapers.base import Offer, ParseResult

log = logging.getLogger("pipelines.ingest.parse_cache")

FORMAT = 1  # bump when the file layout below changes
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")
_PROVIDER = re.compile(r"[a-z0-9_]{1,64}")

# Offer field -> the JSON types its value may have (None where the field is optional).
_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "float": (int, float), "int": (int,)}


def _field_types() -> dict[str, tuple[tuple[type, ...], bool]]:
    out = {}
    for f in dataclasses.fields(Offer):
        parts = [p.strip() for p in str(f.type).split("|")]
        optional = "None" in parts
        base = next(p for p in parts if p != "None")
        if base == "datetime":
            types: tuple[type, ...] = (str,)  # ISO text, parsed on load
        elif base.startswith("dict"):
            types = (dict,)
        else:
            types = _SCALARS[base]
        out[f.name] = (types, optional)
    return out


_FIELDS = _field_types()


class ParseCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, provider: str, fingerprint: str, sha256: str) -> Path:
        if not (
            _PROVIDER.fullmatch(provider)
            and _FINGERPRINT.fullmatch(fingerprint)
            and _SHA256.fullmatch(sha256)
        ):
            raise ValueError(f"bad parse-cache key {provider!r}/{fingerprint!r}/{sha256!r}")
        path = self.root / provider / f"{fingerprint}-{sha256}.json.gz"
        root = self.root.resolve()
        if root not in path.resolve().parents:
            raise ValueError(f"parse-cache path {path} leaves {self.root}")
        return path

    def get(self, provider: str, fingerprint: str, sha256: str) -> ParseResult | None:
        """The cached result, or None (a miss) when absent or not exactly what we write."""
        path = self.path(provider, fingerprint, sha256)
        if not path.is_file():
            return None
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                doc = json.load(fh)
            return _load(doc, provider, fingerprint, sha256)
        except Exception as exc:  # torn, tampered or old: parse again
            log.warning("parse cache %s unusable (%s); parsing again", path.name, exc)
            return None

    def put(self, provider: str, fingerprint: str, sha256: str, result: ParseResult) -> None:
        path = self.path(provider, fingerprint, sha256)
        doc = {
            "format": FORMAT,
            "provider": provider,
            "parser": fingerprint,
            "sha256": sha256,
            "offers": [_dump_offer(o) for o in result.offers],
            "warnings": list(result.warnings),
            "unknown": list(result.unknown),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
            # dumps, not dump: json.dump always runs the pure-Python encoder and writes
            # piece by piece (millions of calls for an AWS region); dumps uses the C one.
            fh.write(json.dumps(doc, default=str))  # extra's Decimals: as normalize writes them
        os.replace(tmp, path)


_NAMES = tuple(f.name for f in dataclasses.fields(Offer))
# All of an offer's fields in one C call: a replay writes ~100,000 offers to the cache.
_VALUES = operator.attrgetter(*_NAMES)


def _dump_offer(o: Offer) -> dict[str, Any]:
    d = dict(zip(_NAMES, _VALUES(o), strict=True))
    d["observed_at"] = o.observed_at.isoformat()
    return d


def _load(doc: Any, provider: str, fingerprint: str, sha256: str) -> ParseResult:
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    expected = {"format": FORMAT, "provider": provider, "parser": fingerprint, "sha256": sha256}
    for key, value in expected.items():
        if doc.get(key) != value:
            raise ValueError(f"{key} is {doc.get(key)!r}, expected {value!r}")
    offers, warnings, unknown = doc.get("offers"), doc.get("warnings"), doc.get("unknown")
    if not isinstance(offers, list):
        raise ValueError("offers is not a list")
    for name, value in (("warnings", warnings), ("unknown", unknown)):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise ValueError(f"{name} is not a list of strings")
    return ParseResult(
        offers=[_load_offer(o) for o in offers],
        warnings=list(warnings),  # type: ignore[arg-type]
        unknown=list(unknown),  # type: ignore[arg-type]
    )


def _load_offer(raw: Any) -> Offer:
    if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
        raise ValueError("an offer does not have exactly the Offer fields")
    for name, (types, optional) in _FIELDS.items():
        value = raw[name]
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError(f"offer field {name} has type {type(value).__name__}")
    values = dict(raw)
    values["observed_at"] = datetime.fromisoformat(raw["observed_at"])
    return Offer(**values)  # __post_init__ checks the pricing model
