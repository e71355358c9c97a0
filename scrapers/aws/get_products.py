"""AWS Price List Query API (`GetProducts`) pages and single PriceList items: the same
product / term shapes as the bulk offer files, one JSON document per page (the live API
returns each PriceList entry as a JSON string; SDK fixtures as objects)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scrapers import _toolkit as tk
from scrapers.aws.offers import context, finish, keep_product, offers_for_product
from scrapers.aws.tables import NAME
from scrapers.base import ParseResult, Response


def _price_list_items(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict) and "PriceList" in doc:
        for item in doc["PriceList"]:
            # The live API returns each entry as a JSON string; SDK fixtures as objects.
            yield json.loads(item) if isinstance(item, str) else item
    elif isinstance(doc, dict) and "product" in doc:
        yield doc


def parse_get_products(r: Response) -> ParseResult:
    """Pricing API `GetProducts` pages or single PriceList items (same product/term shapes)."""
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    src = context(r)
    doc = tk.load_json(r, NAME, field="PriceList")
    for item in _price_list_items(doc):
        product = item.get("product") or {}
        sku = product.get("sku", "")
        src.offer_version = item.get("version")
        src.publication_date = item.get("publicationDate")
        if not keep_product(product, src):
            continue
        terms = item.get("terms") or {}
        offers_for_product(
            sku, product, terms.get("OnDemand") or {}, terms.get("Reserved") or {}, src, rows
        )
    return finish(src, result)
