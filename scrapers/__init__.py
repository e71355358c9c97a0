"""Provider scrapers: one module per provider, each with a thin fetch and a pure parse.

Public API: `Offer`, `Response`, `ParseResult`, `ProviderSpec`, `FetchContext` (the
contract, in `scrapers.base`), `HttpClient` (`scrapers.http`), and `PROVIDERS` (the one
explicit registry, `scrapers.registry`).
"""

from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderError,
    ProviderSpec,
    Response,
    SkipProvider,
)

__all__ = [
    "FetchContext",
    "Offer",
    "ParseError",
    "ParseResult",
    "ProviderError",
    "ProviderSpec",
    "Response",
    "SkipProvider",
]
