"""Accelerator kind of a canonical GPU model: gpu, tpu or asic.

Source: `pipelines/data/accelerator_kinds.csv` lists every model that is *not* a GPU (Google
TPUs; AWS Inferentia/Trainium and Habana Gaudi chips) with a source per row; every other
resolved model is a GPU. Output: the `accelerator_kind` column of the observations
(pipelines/ingest/normalize.py), so the gate and every ranking can keep the kinds apart.
The list is short and changes rarely; a GPU-only default keeps it that way, and a test
checks that every spec row of a non-GPU vendor (Google, AWS, Intel) is listed.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pipelines.errors import GpuPricesError
from pipelines.schema import ACCELERATOR_KINDS

KINDS_CSV = Path(__file__).resolve().parents[1] / "data" / "accelerator_kinds.csv"
DEFAULT_KIND = "gpu"


class KindTableError(GpuPricesError, ValueError):
    """The kinds CSV is malformed (unknown kind, duplicate model, missing source)."""


@lru_cache(maxsize=1)
def kinds() -> dict[str, str]:
    """{gpu_model: accelerator_kind} for the models that are not GPUs."""
    out: dict[str, str] = {}
    with KINDS_CSV.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            model, kind = row["gpu_model"].strip(), row["accelerator_kind"].strip()
            if kind not in ACCELERATOR_KINDS or not row["source"].strip() or model in out:
                raise KindTableError(f"{KINDS_CSV}:{n}: bad row {row}")
            out[model] = kind
    return out


def accelerator_kind(gpu_model: object) -> str | None:
    """The kind of a canonical model; None when the model is unknown (unresolved name)."""
    if not isinstance(gpu_model, str) or not gpu_model:
        return None
    return kinds().get(gpu_model, DEFAULT_KIND)
