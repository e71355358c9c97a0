"""The statistic of each (day, index, pricing model): each provider once at its cheapest
eligible offer, a trimmed mean of those provider prices, the dispersion, the input-set
hash; composites as the stated weighted sums of their components' values.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from pipelines.derive.index.eligibility import empty_frame
from pipelines.derive.index.methodology import Methodology
from pipelines.tables import PRICE_INDEX


def statistic(x: pd.DataFrame, m: Methodology, through: pd.Timestamp) -> pd.DataFrame:
    """Per (day, index, pricing model): provider minima, trimmed mean, dispersion, hash.

    Works on integer codes and sorted numpy arrays: the expanded frame has one row per
    offer and day (millions after a long backfill) and string sorts dominate otherwise.
    """
    x["statistic_role"] = None
    inc = x["is_included"].to_numpy()
    if not inc.any():
        return empty_frame(PRICE_INDEX)
    ok = x[inc]
    # Each provider counts once, at its cheapest eligible offer (ties: lowest offer key).
    d, g, p = (ok[c].to_numpy() for c in ("day_ns", "gkey", "pkey"))
    price, o = ok["price"].to_numpy(), ok["okey"].to_numpy()
    order = np.lexsort((o, price, p, g, d))
    d, g, p, price = d[order], g[order], p[order], price[order]
    new_group = np.r_[True, (d[1:] != d[:-1]) | (g[1:] != g[:-1])]
    new_provider = new_group | np.r_[True, p[1:] != p[:-1]]
    offer_gid = np.cumsum(new_group) - 1
    # The provider rows, each group's sorted by price (then provider) for the trimming.
    pp, pprice = p[new_provider], price[new_provider]
    prow = np.flatnonzero(new_provider)  # positions in the sorted included rows
    gid = offer_gid[new_provider]
    porder = np.lexsort((pp, pprice, gid))
    gid, pprice, prow = gid[porder], pprice[porder], prow[porder]
    n_groups = offer_gid[-1] + 1
    n = np.bincount(gid, minlength=n_groups)
    start = np.r_[0, np.cumsum(n)[:-1]]
    rank = np.arange(len(gid)) - start[gid]
    # At least one provider always stays (two providers are never both trimmed).
    k = np.minimum(np.floor(n * m.trim_fraction).astype(int), (n - 1) // 2)
    kept = (rank >= k[gid]) & (rank < (n - k)[gid])
    role = np.full(len(order), "above_provider_min", dtype=object)
    role[prow] = np.where(kept, "provider_price", "trimmed")
    x.loc[ok.index[order], "statistic_role"] = role

    first = np.flatnonzero(new_group)
    by = pd.Series(pprice).groupby(gid)
    q = by.quantile([0.25, 0.5, 0.75]).unstack().to_numpy()
    value = np.bincount(gid[kept], weights=pprice[kept], minlength=n_groups) / np.bincount(
        gid[kept], minlength=n_groups
    )
    index_ids, pricing = x.attrs["gkeys"]
    res = pd.DataFrame(
        {
            "day_ns": d[first],
            "index_id": index_ids[g[first]],
            "pricing_model": pricing[g[first]],
            "value_usd_per_gpu_hour": value,
            "provider_count": n,
            "offer_count": np.bincount(offer_gid, minlength=n_groups),
            "min_usd_per_gpu_hour": by.min().to_numpy(),
            "p25_usd_per_gpu_hour": q[:, 0],
            "median_usd_per_gpu_hour": q[:, 1],
            "p75_usd_per_gpu_hour": q[:, 2],
            "max_usd_per_gpu_hour": by.max().to_numpy(),
            "input_sha256": _set_hashes(ok, order, offer_gid, first),
        }
    )
    res = pd.concat([res, _composites(res, ok, m)], ignore_index=True)
    res["date"] = pd.to_datetime(res["day_ns"], utc=True).dt.date
    res["provider_count"] = res["provider_count"].astype("int32")
    res["offer_count"] = res["offer_count"].astype("int32")
    res["methodology_version"] = m.version
    res["computed_through"] = through.floor("us")
    res = res.sort_values(["date", "index_id", "pricing_model"], kind="stable")
    return res[PRICE_INDEX.columns].reset_index(drop=True)


def _set_hashes(
    ok: pd.DataFrame, order: np.ndarray, gid: np.ndarray, first: np.ndarray
) -> list[str]:
    """Per group: sha256 of its sorted record digests (one pass over a sorted array; a
    pandas per-group aggregation costs more than the hashing itself)."""
    dkey = ok["dkey"].to_numpy()[order]
    by_digest = np.lexsort((dkey, gid))
    digests = ok["digest"].to_numpy(dtype=object)[order][by_digest]
    bounds = np.append(first, len(order))
    return [
        hashlib.sha256("\n".join(digests[a:b]).encode()).hexdigest()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _composites(sub: pd.DataFrame, ok: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """Weighted sums of sub-index values; a day lacking any component has no value."""
    frames = []
    keys = ["day_ns", "pricing_model"]
    for comp in m.composites:
        parts = []
        for index_id, weight in comp.weights:
            p = sub[sub["index_id"].eq(index_id)].set_index(keys)
            parts.append((p, weight))
        common = parts[0][0].index
        for p, _ in parts[1:]:
            common = common.intersection(p.index)
        if common.empty:
            continue
        value = sum(p.loc[common, "value_usd_per_gpu_hour"] * w for p, w in parts)
        # Providers of any component, each counted once.
        members = ok[ok["index_id"].isin([i for i, _ in comp.weights])]
        members = members.drop_duplicates([*keys, "provider"])
        providers = members.groupby(keys, sort=False).size().reindex(common)
        hashes = pd.concat([p.loc[common, "input_sha256"] for p, _ in parts], axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "index_id": comp.index_id,
                    "value_usd_per_gpu_hour": value,
                    "provider_count": providers,
                    "offer_count": sum(p.loc[common, "offer_count"] for p, _ in parts),
                    "input_sha256": [
                        hashlib.sha256("\n".join(row).encode()).hexdigest()
                        for row in hashes.itertuples(index=False)
                    ],
                },
                index=common,
            ).reset_index()
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
