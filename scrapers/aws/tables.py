"""AWS reference tables (`scrapers/data/aws_*.csv`): which instance families carry which
accelerator, per-size accelerator counts (fractional slices included), and the legacy
spot-feed region names. Each row cites its source in the CSV itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scrapers import _toolkit as tk

NAME = "aws"
DATA_DIR = tk.DATA_DIR
FAMILIES_TABLE = "aws_instance_families.csv"
SIZES_TABLE = "aws_instance_sizes.csv"
SPOT_REGIONS_TABLE = "aws_spot_regions.csv"


@dataclass(frozen=True)
class FamilyInfo:
    family: str
    accelerator_kind: str
    gpu_model_hint: str
    gpu_name_raw: str
    gpu_vendor: str
    gpu_memory_gb: float | None


@dataclass(frozen=True)
class SizeInfo:
    instance_type: str
    gpu_count: float
    gpu_memory_gb: float | None
    vcpus: float | None
    memory_gb: float | None


@lru_cache(maxsize=1)
def families() -> dict[str, FamilyInfo]:
    """Instance family -> accelerator model (data/aws_instance_families.csv)."""
    return {
        row["family"]: FamilyInfo(
            family=row["family"],
            accelerator_kind=row["accelerator_kind"],
            gpu_model_hint=row["gpu_model_hint"],
            gpu_name_raw=row["gpu_name_raw"],
            gpu_vendor=row["gpu_vendor"],
            gpu_memory_gb=tk.opt_float(row["gpu_memory_gb"]),
        )
        for row in tk.table(FAMILIES_TABLE)
    }


@lru_cache(maxsize=1)
def sizes() -> dict[str, SizeInfo]:
    """Instance type -> accelerator count / memory / vCPUs (data/aws_instance_sizes.csv)."""
    return {
        row["instance_type"]: SizeInfo(
            instance_type=row["instance_type"],
            gpu_count=float(row["gpu_count"]),
            gpu_memory_gb=tk.opt_float(row["gpu_memory_gb"]),
            vcpus=tk.opt_float(row["vcpus"]),
            memory_gb=tk.opt_float(row["memory_gb"]),
        )
        for row in tk.table(SIZES_TABLE)
    }


@lru_cache(maxsize=1)
def spot_regions() -> dict[str, str]:
    """Legacy spot-feed region name -> region code (data/aws_spot_regions.csv)."""
    return {row["spot_region_name"]: row["region_code"] for row in tk.table(SPOT_REGIONS_TABLE)}


def family_of(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]
