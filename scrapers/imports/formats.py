"""The one list of import formats (`scrape import FORMAT`) and the provider ids they feed."""

from __future__ import annotations

from scrapers.base import ProviderSpec
from scrapers.imports import (
    ImportFormat,
    aws_gpu_tracker,
    azure_radar_json,
    cloud_gpus_json,
    colab_free_tier,
    gcp_pricing_yml,
    skypilot_vms_csv,
)

FORMATS: dict[str, ImportFormat] = {
    f.name: f
    for f in (
        skypilot_vms_csv.IMPORT,
        gcp_pricing_yml.IMPORT,
        aws_gpu_tracker.IMPORT,
        cloud_gpus_json.IMPORT,
        azure_radar_json.IMPORT,
        colab_free_tier.IMPORT,
    )
}

IMPORT_PROVIDERS: dict[str, ProviderSpec] = {
    s.name: s
    for s in (
        *skypilot_vms_csv.SPECS,
        gcp_pricing_yml.PROVIDER,
        aws_gpu_tracker.PROVIDER,
        cloud_gpus_json.PROVIDER,
        azure_radar_json.PROVIDER,
        colab_free_tier.PROVIDER,
    )
}
