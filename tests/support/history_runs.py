"""Three runs of two providers that exercise every kind of history record: new offers, a
price change, a withdrawal, a reappearance. Prices are the recorded ones of
tests/support/observations.py (p4d.24xlarge) or round test values."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from pipelines.ingest.normalize import frame_from_rows
from tests.support.observations import T0, observation

HOUR = timedelta(hours=1)


def _aws(prices: dict[str, float], step: int) -> pd.DataFrame:
    return frame_from_rows(
        [observation(it, p, "A100", at=T0 + step * HOUR) for it, p in prices.items()]
    )


def _lambda(prices: dict[str, float], step: int) -> pd.DataFrame:
    return frame_from_rows(
        [
            observation(
                it,
                p,
                "H100",
                provider="lambda",
                region="us-west-1",
                gpu_count=1.0,
                at=T0 + step * HOUR + timedelta(seconds=30),
                source_url="https://cloud.lambdalabs.com/api/v1/instance-types",
            )
            for it, p in prices.items()
        ]
    )


RUNS: list[dict[str, pd.DataFrame]] = [
    {
        "aws": _aws({"p4d.24xlarge": 32.7726, "p5.48xlarge": 98.32, "g5.xlarge": 1.006}, 0),
        "lambda": _lambda({"gpu_1x_h100_pcie": 2.49, "gpu_8x_h100_sxm5": 23.92}, 0),
    },
    # p5 price changes, g5 is withdrawn, g6 appears; lambda unchanged.
    {
        "aws": _aws({"p4d.24xlarge": 32.7726, "p5.48xlarge": 55.04, "g6.xlarge": 0.805}, 1),
        "lambda": _lambda({"gpu_1x_h100_pcie": 2.49, "gpu_8x_h100_sxm5": 23.92}, 1),
    },
    # g5 comes back; lambda's 8x changes.
    {
        "aws": _aws(
            {"p4d.24xlarge": 32.7726, "p5.48xlarge": 55.04, "g6.xlarge": 0.805, "g5.xlarge": 1.006},
            2,
        ),
        "lambda": _lambda({"gpu_1x_h100_pcie": 2.49, "gpu_8x_h100_sxm5": 21.52}, 2),
    },
]


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a comparable form: categoricals and Arrow-backed columns (the view's dates)
    as objects, sorted by version key."""
    out = df.copy()
    for c in out.columns:
        dtype = out[c].dtype
        if isinstance(dtype, (pd.CategoricalDtype, pd.ArrowDtype)) or dtype == "string":
            out[c] = out[c].astype(object)
        if out[c].dtype == object:
            out[c] = out[c].where(out[c].notna(), None)
    return out.sort_values(["offer_key", "valid_from"]).reset_index(drop=True)
