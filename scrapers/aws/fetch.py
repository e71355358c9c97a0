"""AWS fetch: offer index -> EC2 region index -> each region's offer file, plus the spot
feed. Offer files (hundreds of MB each) stream to disk gzip-compressed."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from scrapers import _toolkit as tk
from scrapers.aws.tables import NAME
from scrapers.base import FetchContext, ParseError, Response

PRICING_BASE_URL = "https://pricing.us-east-1.amazonaws.com"
SPOT_BASE_URL = "https://website.spot.ec2.aws.a2z.com"
OFFER_INDEX_PATH = "/offers/v1.0/aws/index.json"
SPOT_FEED_PATH = "spot.json"
REGIONS_SETTING = "AWS_REGIONS"

# Offer files are streamed to disk gzip-compressed; the largest EC2 region files are a
# few GB uncompressed, so the cap is generous but finite.
OFFER_FILE_MAX_BYTES = 16 * 1024**3
# A multi-GB file at a modest 10 MB/s takes minutes: its own overall deadline.
OFFER_FILE_DEADLINE_S = 3600.0
CONCURRENT_OFFER_DOWNLOADS = 4


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
        region_index_path = tk.peek_json(index)["offers"]["AmazonEC2"]["currentRegionIndexUrl"]
    except (KeyError, TypeError) as exc:
        raise ParseError(
            NAME,
            index.url,
            f"no AmazonEC2 region index URL ({exc!r})",
            field="offers.AmazonEC2.currentRegionIndexUrl",
        ) from None
    region_index = await client.get(ctx.url(region_index_path), provider=NAME, kind="region-index")
    responses.append(region_index)
    try:
        regions: dict[str, Any] = tk.peek_json(region_index)["regions"]
    except (KeyError, TypeError) as exc:
        raise ParseError(
            NAME, region_index.url, f"unreadable region index ({exc!r})", field="regions"
        ) from None

    wanted = ctx.settings.get(REGIONS_SETTING, "")
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
                fetched_at=ctx.client.now(),
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
                deadline_s=OFFER_FILE_DEADLINE_S,
            )

    responses.extend(await asyncio.gather(*(one_region(code) for code in selected)))
    spot_url = ctx.url(SPOT_FEED_PATH, base="spot")
    responses.append(
        await client.get(
            spot_url, provider=NAME, kind="spot-feed", conditional=ctx.previous.get(spot_url)
        )
    )
    return responses
