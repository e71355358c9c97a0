"""Third-party price catalogs read by `scrape import FORMAT ...` (pipelines/ops/imports.py).

Each format is one module with a pure `parse(responses) -> ParseResult`, exactly like a
provider: the bytes of one catalog version (a file, or a git blob at one commit) in,
offers out, observed at the commit time. Each format feeds its own provider id, because a
catalog covers its own scope (the AWS tracker holds one instance type in one region): merged
into `aws`, one of its snapshots would withdraw every other AWS offer. The ids say where the
prices come from (`gcp_cyclenerd` = GCP prices as Cyclenerd's pricing.yml computed them).

These providers have nothing to fetch (`fetch` skips them with a pointer to `scrape
import`); the archive, replay, gate, history and change events treat them like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scrapers.base import FetchContext, ParseFn, ProviderSpec, Response, SkipProvider


@dataclass(frozen=True)
class Part:
    """One snapshot a file of dated records yields (`ImportFormat.split`)."""

    label: str  # the window it covers, e.g. "2019"
    observed_at: datetime | None  # None: this part gives no snapshot; `skipped` says why
    body: bytes
    skipped: str = ""


@dataclass(frozen=True)
class ImportFormat:
    """A catalog layout `scrape import` reads: its name, parser and target provider ids."""

    name: str  # CLI argument, e.g. "gcp-pricing-yml"
    parse: ParseFn
    providers: tuple[str, ...]  # ids it may feed; the first is the default
    source: str  # repository / where the catalog lives
    license: str  # the source's license as read from it, or "none stated"
    description: str
    # The part of a version worth shipping in examples/ (GPU rows, price fields), in the
    # source's own layout: parse(excerpt(x)) gives the offers of parse(x).
    excerpt: Callable[[bytes], bytes] | None = None
    excerpt_note: str = ""
    # For a file that is not one catalog version but many dated records (the Colab
    # free-tier recordings): cuts it into its snapshots, each dated by its records, so
    # file mode needs no --observed-at.
    split: Callable[[bytes], list[Part]] | None = None


def import_only_fetch(name: str):
    async def fetch(ctx: FetchContext) -> list[Response]:
        raise SkipProvider(
            f"{name}: imported catalog, nothing to fetch (see `scrape import --help`)"
        )

    return fetch


def import_spec(
    name: str,
    *,
    title: str,
    source_url: str,
    pricing_models: tuple[str, ...],
    validated_against: str,
    parse: ParseFn,
    notes: str,
    pricing_page_url: str | None = None,
    import_format: str,
    separable_parse: bool = True,
    gpu_rules_of: str | None = None,
) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        title=title,
        source_urls=(source_url,),
        pricing_models=pricing_models,
        validated_against=validated_against,
        default_base_url=source_url,
        fetch=import_only_fetch(name),
        parse=parse,
        # One catalog file stands alone: an unchanged blob is parsed once (parse cache).
        # False where a snapshot is several files judged together (azure_radar).
        separable_parse=separable_parse,
        # Imported catalogs do not shrink by half unless their fetcher failed: the same gate
        # as live providers stops a truncated or header-only version.
        max_row_drop_fraction=0.5,
        notes=notes,
        pricing_page_url=pricing_page_url,
        import_format=import_format,
        gpu_rules_of=gpu_rules_of,
    )
