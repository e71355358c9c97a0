"""Canonical GPU names: real provider spellings -> (gpu_model, gpu_memory_gb, gpu_form_factor).

Every spelling below is real: taken from the recorded samples in /work/shared/samples (Vast
gpu_name values, Oracle product names, Linode labels, Scaleway/OVH/Vultr/DataCrunch/TensorDock
names, the GCP billing SKU excerpt and TPU price keys), from the providers' own reference
tables in scrapers/data/*.csv (AWS families, Azure sizes, GCP accelerators, Paperspace, Colab)
and from public provider docs (RunPod GPU ids: docs.runpod.io/references/gpu-types; GCP
accelerator types and Vertex enum names; Azure VM size / meter names).
"""

from __future__ import annotations

import csv
import re

import pytest

from pipelines.ingest import gpus
from pipelines.ingest.gpus import Resolution, known_models, normalize, resolve

# (raw spelling, provider context, expected (gpu_model, gpu_memory_gb, gpu_form_factor))
SPELLINGS = [
    # Vast.ai gpu_name values (samples/vastai/search-offers_raw_2024-11-05_one-per-gpu_excerpt.json), memory = gpu_ram/1024
    ("RTX 4090", {"memory_gb": 24.0, "provider": "vastai"}, ("RTX 4090", 24.0, "PCIe")),
    ("RTX 3090", {"memory_gb": 24.0, "provider": "vastai"}, ("RTX 3090", 24.0, "PCIe")),
    ("RTX 4080S", {"memory_gb": 16.0, "provider": "vastai"}, ("RTX 4080 SUPER", 16.0, "PCIe")),
    ("H100 SXM", {"memory_gb": 79.6, "provider": "vastai"}, ("H100", 80.0, "SXM")),
    ("RTX A4000", {"memory_gb": 16.0, "provider": "vastai"}, ("RTX A4000", 16.0, "PCIe")),
    ("RTX 3080", {"memory_gb": 10.0, "provider": "vastai"}, ("RTX 3080", 10.0, "PCIe")),
    ("H100 NVL", {"memory_gb": 93.6, "provider": "vastai"}, ("H100", 94.0, "NVL")),
    ("RTX 6000Ada", {"memory_gb": 48.0, "provider": "vastai"}, ("RTX 6000 Ada", 48.0, "PCIe")),
    ("L40S", {"memory_gb": 45.0, "provider": "vastai"}, ("L40S", 48.0, "PCIe")),
    ("RTX 4070S", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 4070 SUPER", 12.0, "PCIe")),
    ("RTX 3080 Ti", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 3080 Ti", 12.0, "PCIe")),
    ("RTX 3090 Ti", {"memory_gb": 24.0, "provider": "vastai"}, ("RTX 3090 Ti", 24.0, "PCIe")),
    (
        "RTX 4070S Ti",
        {"memory_gb": 16.0, "provider": "vastai"},
        ("RTX 4070 Ti SUPER", 16.0, "PCIe"),
    ),
    ("A100 SXM4", {"memory_gb": 80.0, "provider": "vastai"}, ("A100", 80.0, "SXM")),
    ("RTX 4070", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 4070", 12.0, "PCIe")),
    ("H100 PCIE", {"memory_gb": 79.6, "provider": "vastai"}, ("H100", 80.0, "PCIe")),
    ("RTX A5000", {"memory_gb": 24.0, "provider": "vastai"}, ("RTX A5000", 24.0, "PCIe")),
    ("RTX 3060 Ti", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 3060 Ti", 8.0, "PCIe")),
    ("L40", {"memory_gb": 45.0, "provider": "vastai"}, ("L40", 48.0, "PCIe")),
    ("RTX 4080", {"memory_gb": 16.0, "provider": "vastai"}, ("RTX 4080", 16.0, "PCIe")),
    ("RTX 3060", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 3060", 12.0, "PCIe")),
    ("RTX 3070", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 3070", 8.0, "PCIe")),
    ("RTX 5000Ada", {"memory_gb": 32.0, "provider": "vastai"}, ("RTX 5000 Ada", 32.0, "PCIe")),
    ("RTX 4060 Ti", {"memory_gb": 15.996, "provider": "vastai"}, ("RTX 4060 Ti", 16.0, "PCIe")),
    ("RTX A2000", {"memory_gb": 11.994, "provider": "vastai"}, ("RTX A2000", 12.0, "PCIe")),
    ("RTX 4070 Ti", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 4070 Ti", 12.0, "PCIe")),
    ("RTX 2070S", {"memory_gb": 7.8, "provider": "vastai"}, ("RTX 2070 SUPER", 8.0, "PCIe")),
    ("RTX 3070 Ti", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 3070 Ti", 8.0, "PCIe")),
    ("RTX A6000", {"memory_gb": 48.0, "provider": "vastai"}, ("RTX A6000", 48.0, "PCIe")),
    ("A100 PCIE", {"memory_gb": 80.0, "provider": "vastai"}, ("A100", 80.0, "PCIe")),
    ("Titan V", {"memory_gb": 12.0, "provider": "vastai"}, ("TITAN V", 12.0, "PCIe")),
    ("Tesla V100", {"memory_gb": 16.0, "provider": "vastai"}, ("V100", 16.0, None)),
    ("A100X", {"memory_gb": 80.0, "provider": "vastai"}, ("A100X", 80.0, "PCIe")),
    ("A40", {"memory_gb": 45.0, "provider": "vastai"}, ("A40", 48.0, "PCIe")),
    ("A10", {"memory_gb": 22.5, "provider": "vastai"}, ("A10", 24.0, "PCIe")),
    ("RTX 4000Ada", {"memory_gb": 20.0, "provider": "vastai"}, ("RTX 4000 Ada", 20.0, "PCIe")),
    ("RTX 4060", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 4060", 8.0, "PCIe")),
    ("RTX 2080 Ti", {"memory_gb": 11.0, "provider": "vastai"}, ("RTX 2080 Ti", 11.0, "PCIe")),
    ("L4", {"memory_gb": 22.5, "provider": "vastai"}, ("L4", 24.0, "PCIe")),
    ("RTX 3060 laptop", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 3060 Laptop", 12.0, None)),
    ("A30", {"memory_gb": 24.0, "provider": "vastai"}, ("A30", 24.0, "PCIe")),
    ("Q RTX 5000", {"memory_gb": 16.0, "provider": "vastai"}, ("Quadro RTX 5000", 16.0, "PCIe")),
    ("GTX 1080 Ti", {"memory_gb": 11.0, "provider": "vastai"}, ("GTX 1080 Ti", 11.0, "PCIe")),
    ("GTX 1070 Ti", {"memory_gb": 8.0, "provider": "vastai"}, ("GTX 1070 Ti", 8.0, "PCIe")),
    ("Q RTX 6000", {"memory_gb": 24.0, "provider": "vastai"}, ("Quadro RTX 6000", 24.0, "PCIe")),
    ("Tesla P100", {"memory_gb": 16.0, "provider": "vastai"}, ("P100", 16.0, None)),
    ("GTX 1660", {"memory_gb": 6.0, "provider": "vastai"}, ("GTX 1660", 6.0, "PCIe")),
    ("GTX 1080", {"memory_gb": 8.0, "provider": "vastai"}, ("GTX 1080", 8.0, "PCIe")),
    ("GTX 1070", {"memory_gb": 8.0, "provider": "vastai"}, ("GTX 1070", 8.0, "PCIe")),
    ("Titan Xp", {"memory_gb": 12.0, "provider": "vastai"}, ("TITAN Xp", 12.0, "PCIe")),
    ("Tesla T4", {"memory_gb": 15.0, "provider": "vastai"}, ("T4", 16.0, "PCIe")),
    ("RTX 2060S", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 2060 SUPER", 8.0, "PCIe")),
    ("GTX 1660 S", {"memory_gb": 6.0, "provider": "vastai"}, ("GTX 1660 SUPER", 6.0, "PCIe")),
    ("RTX 2070", {"memory_gb": 8.0, "provider": "vastai"}, ("RTX 2070", 8.0, "PCIe")),
    ("GTX 1660 Ti", {"memory_gb": 6.0, "provider": "vastai"}, ("GTX 1660 Ti", 6.0, "PCIe")),
    ("RTX 2060", {"memory_gb": 12.0, "provider": "vastai"}, ("RTX 2060", 12.0, "PCIe")),
    ("RTX 2080S", {"memory_gb": 7.8, "provider": "vastai"}, ("RTX 2080 SUPER", 8.0, "PCIe")),
    ("GTX 1050 Ti", {"memory_gb": 4.0, "provider": "vastai"}, ("GTX 1050 Ti", 4.0, "PCIe")),
    ("GTX 1650", {"memory_gb": 4.0, "provider": "vastai"}, ("GTX 1650", 4.0, "PCIe")),
    ("GTX 1060", {"memory_gb": 3.0, "provider": "vastai"}, ("GTX 1060", 3.0, "PCIe")),
    ("Quadro K2200", {"memory_gb": 4.0, "provider": "vastai"}, ("Quadro K2200", 4.0, "PCIe")),
    # RunPod GPU ids (docs.runpod.io/references/gpu-types; samples/runpod)
    ("AMD Instinct MI300X OAM", {"provider": "runpod"}, ("MI300X", 192.0, None)),
    ("NVIDIA A100 80GB PCIe", {"provider": "runpod"}, ("A100", 80.0, "PCIe")),
    ("NVIDIA A100-SXM4-80GB", {"provider": "runpod"}, ("A100", 80.0, "SXM")),
    ("NVIDIA A30", {"provider": "runpod"}, ("A30", 24.0, "PCIe")),
    ("NVIDIA A40", {"provider": "runpod"}, ("A40", 48.0, "PCIe")),
    ("NVIDIA B200", {"provider": "runpod", "memory_gb": 180}, ("B200", 180.0, "SXM")),
    ("NVIDIA B300 SXM6 AC", {"provider": "runpod", "memory_gb": 288}, ("B300", 288.0, "SXM")),
    ("NVIDIA GeForce RTX 3070", {"provider": "runpod"}, ("RTX 3070", 8.0, "PCIe")),
    (
        "NVIDIA GeForce RTX 3080",
        {"provider": "runpod", "memory_gb": 10},
        ("RTX 3080", 10.0, "PCIe"),
    ),
    ("NVIDIA GeForce RTX 3080 Ti", {"provider": "runpod"}, ("RTX 3080 Ti", 12.0, "PCIe")),
    ("NVIDIA GeForce RTX 3090", {"provider": "runpod"}, ("RTX 3090", 24.0, "PCIe")),
    ("NVIDIA GeForce RTX 3090 Ti", {"provider": "runpod"}, ("RTX 3090 Ti", 24.0, "PCIe")),
    ("NVIDIA GeForce RTX 4070 Ti", {"provider": "runpod"}, ("RTX 4070 Ti", 12.0, "PCIe")),
    ("NVIDIA GeForce RTX 4080", {"provider": "runpod"}, ("RTX 4080", 16.0, "PCIe")),
    ("NVIDIA GeForce RTX 4080 SUPER", {"provider": "runpod"}, ("RTX 4080 SUPER", 16.0, "PCIe")),
    ("NVIDIA GeForce RTX 4090", {"provider": "runpod"}, ("RTX 4090", 24.0, "PCIe")),
    ("NVIDIA GeForce RTX 5080", {"provider": "runpod"}, ("RTX 5080", 16.0, "PCIe")),
    ("NVIDIA GeForce RTX 5090", {"provider": "runpod"}, ("RTX 5090", 32.0, "PCIe")),
    ("NVIDIA H100 80GB HBM3", {"provider": "runpod"}, ("H100", 80.0, "SXM")),
    ("NVIDIA H100 NVL", {"provider": "runpod"}, ("H100", 94.0, "NVL")),
    ("NVIDIA H100 PCIe", {"provider": "runpod", "memory_gb": 80}, ("H100", 80.0, "PCIe")),
    ("NVIDIA H200", {"provider": "runpod"}, ("H200", 141.0, None)),
    ("NVIDIA L4", {"provider": "runpod"}, ("L4", 24.0, "PCIe")),
    ("NVIDIA L40", {"provider": "runpod"}, ("L40", 48.0, "PCIe")),
    ("NVIDIA L40S", {"provider": "runpod"}, ("L40S", 48.0, "PCIe")),
    ("NVIDIA RTX 2000 Ada Generation", {"provider": "runpod"}, ("RTX 2000 Ada", 16.0, "PCIe")),
    ("NVIDIA RTX 4000 Ada Generation", {"provider": "runpod"}, ("RTX 4000 Ada", 20.0, "PCIe")),
    (
        "NVIDIA RTX 4000 SFF Ada Generation",
        {"provider": "runpod"},
        ("RTX 4000 SFF Ada", 20.0, "PCIe"),
    ),
    ("NVIDIA RTX 5000 Ada Generation", {"provider": "runpod"}, ("RTX 5000 Ada", 32.0, "PCIe")),
    ("NVIDIA RTX 6000 Ada Generation", {"provider": "runpod"}, ("RTX 6000 Ada", 48.0, "PCIe")),
    ("NVIDIA RTX A2000", {"provider": "runpod", "memory_gb": 6}, ("RTX A2000", 6.0, "PCIe")),
    ("NVIDIA RTX A4000", {"provider": "runpod"}, ("RTX A4000", 16.0, "PCIe")),
    ("NVIDIA RTX A4500", {"provider": "runpod"}, ("RTX A4500", 20.0, "PCIe")),
    ("NVIDIA RTX A5000", {"provider": "runpod"}, ("RTX A5000", 24.0, "PCIe")),
    ("NVIDIA RTX A6000", {"provider": "runpod"}, ("RTX A6000", 48.0, "PCIe")),
    ("Tesla V100-PCIE-16GB", {"provider": "runpod"}, ("V100", 16.0, "PCIe")),
    ("Tesla V100-SXM2-16GB", {"provider": "runpod"}, ("V100", 16.0, "SXM")),
    ("Tesla V100-SXM2-32GB", {"provider": "runpod"}, ("V100", 32.0, "SXM")),
    ("Tesla V100-FHHL-16GB", {"provider": "runpod"}, ("V100", 16.0, None)),
    (
        "NVIDIA RTX PRO 6000 Blackwell Server Edition",
        {"provider": "runpod"},
        ("RTX PRO 6000", 96.0, "PCIe"),
    ),
    # GCP: Billing SKU descriptions (samples/gcp cloudbilling excerpt), accelerator types, Vertex enum names, TPU pricing keys
    ("Nvidia Tesla A100 GPU running in Americas", {"provider": "gcp"}, ("A100", 40.0, "SXM")),
    ("Nvidia Tesla A100 80GB GPU running in Americas", {"provider": "gcp"}, ("A100", 80.0, "SXM")),
    (
        "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas",
        {"provider": "gcp"},
        ("T4", 16.0, "PCIe"),
    ),
    ("Nvidia L4 GPU running in EMEA", {"provider": "gcp"}, ("L4", 24.0, "PCIe")),
    (
        "Nvidia H100 80GB GPU running in Americas",
        {"provider": "gcp", "instance_type": "a3-highgpu-8g"},
        ("H100", 80.0, "SXM"),
    ),
    ("Nvidia H100 80GB Mega", {"provider": "gcp"}, ("H100", 80.0, "SXM")),
    ("H200 141GB", {"provider": "gcp", "instance_type": "a3-ultragpu-8g"}, ("H200", 141.0, "SXM")),
    ("A4 Nvidia B200 (1 gpu slice)", {"provider": "gcp"}, ("B200", 180.0, "SXM")),
    ("RTX 6000 96GB", {"provider": "gcp"}, ("RTX PRO 6000", 96.0, "PCIe")),
    ("nvidia-tesla-k80", {"provider": "gcp"}, ("K80", 12.0, "PCIe")),
    ("nvidia-tesla-p4", {"provider": "gcp"}, ("P4", 8.0, "PCIe")),
    ("nvidia-tesla-p100", {"provider": "gcp", "memory_gb": 16}, ("P100", 16.0, None)),
    ("nvidia-tesla-v100", {"provider": "gcp", "memory_gb": 16}, ("V100", 16.0, None)),
    ("nvidia-tesla-t4", {"provider": "gcp"}, ("T4", 16.0, "PCIe")),
    ("nvidia-tesla-a100", {"provider": "gcp"}, ("A100", 40.0, "SXM")),
    (
        "nvidia-a100-80gb",
        {"provider": "gcp", "instance_type": "a2-ultragpu-1g"},
        ("A100", 80.0, "SXM"),
    ),
    ("nvidia-l4", {"provider": "gcp"}, ("L4", 24.0, "PCIe")),
    ("nvidia-h100-80gb", {"provider": "gcp"}, ("H100", 80.0, "SXM")),
    ("nvidia-h100-mega-80gb", {"provider": "gcp"}, ("H100", 80.0, "SXM")),
    ("nvidia-h200-141gb", {"provider": "gcp"}, ("H200", 141.0, "SXM")),
    ("NVIDIA_TESLA_A100", {"provider": "gcp"}, ("A100", 40.0, "SXM")),
    ("NVIDIA_A100_80GB", {"provider": "gcp"}, ("A100", 80.0, "SXM")),
    ("TPU v2 device", {"provider": "gcp"}, ("TPU v2", 16.0, None)),
    ("TPU v3 pod", {"provider": "gcp"}, ("TPU v3", 32.0, None)),
    ("TPU v4 pod", {"provider": "gcp"}, ("TPU v4", 32.0, None)),
    ("TPU v5e", {"provider": "gcp"}, ("TPU v5e", 16.0, None)),
    ("TPU v5p", {"provider": "gcp"}, ("TPU v5p", 95.0, None)),
    ("TPU v6e", {"provider": "gcp"}, ("TPU v6e", 32.0, None)),
    ("tpu-v5-lite-podslice", {"provider": "gcp"}, ("TPU v5e", 16.0, None)),
    ("v5litepod-8", {"provider": "gcp"}, ("TPU v5e", 16.0, None)),
    # Azure: VM sizes / meter names and the names its size table gives
    ("Standard_NC24ads_A100_v4", {"provider": "azure"}, ("A100", 80.0, "PCIe")),
    ("NC24ads A100 v4", {"provider": "azure"}, ("A100", 80.0, "PCIe")),
    ("Standard_ND96amsr_A100_v4", {"provider": "azure"}, ("A100", 80.0, "SXM")),
    ("Standard_ND96asr_v4", {"provider": "azure"}, ("A100", 40.0, "SXM")),
    ("Standard_ND96isr_H100_v5", {"provider": "azure"}, ("H100", 80.0, "SXM")),
    ("NC40ads H100 v5", {"provider": "azure"}, ("H100", 94.0, "NVL")),
    ("Standard_ND96isr_H200_v5", {"provider": "azure"}, ("H200", 141.0, "SXM")),
    ("Standard_ND96isr_MI300X_v5", {"provider": "azure"}, ("MI300X", 192.0, None)),
    ("NC6s v3", {"provider": "azure"}, ("V100", 16.0, None)),
    ("NC6s v2", {"provider": "azure"}, ("P100", 16.0, None)),
    ("Standard_NC6", {"provider": "azure"}, ("K80", 12.0, "PCIe")),
    ("ND6s", {"provider": "azure"}, ("P40", 24.0, "PCIe")),
    ("NV6", {"provider": "azure"}, ("M60", 8.0, "PCIe")),
    ("Standard_NV12s_v3", {"provider": "azure"}, ("M60", 8.0, "PCIe")),
    ("NC4as T4 v3", {"provider": "azure"}, ("T4", 16.0, "PCIe")),
    ("Standard_NV36ads_A10_v5", {"provider": "azure"}, ("A10", 24.0, "PCIe")),
    ("Standard_ND40rs_v2", {"provider": "azure"}, ("V100", 32.0, "SXM")),
    (
        "AMD Radeon Instinct MI25",
        {"provider": "azure", "instance_type": "Standard_NV4as_v4"},
        ("MI25", 16.0, "PCIe"),
    ),
    ("Tesla K80", {"provider": "azure", "instance_type": "Standard_NC6"}, ("K80", 12.0, "PCIe")),
    ("Tesla M60", {"provider": "azure", "instance_type": "Standard_NV6"}, ("M60", 8.0, "PCIe")),
    ("Tesla P40", {"provider": "azure", "instance_type": "Standard_ND6s"}, ("P40", 24.0, "PCIe")),
    (
        "NVIDIA Tesla V100 SXM2 32GB",
        {"provider": "azure", "instance_type": "Standard_ND40rs_v2"},
        ("V100", 32.0, "SXM"),
    ),
    # AWS: instance families / offer "gpu" attribute spellings (scrapers/data/aws_instance_families.csv, offer file)
    ("NVIDIA", {"provider": "aws", "instance_type": "p4d.24xlarge"}, ("A100", 40.0, "SXM")),
    ("NVIDIA", {"provider": "aws", "instance_type": "p4de.24xlarge"}, ("A100", 80.0, "SXM")),
    ("NVIDIA", {"provider": "aws", "instance_type": "p5en.48xlarge"}, ("H200", 141.0, "SXM")),
    (
        "NVIDIA Tesla K80 (one GK210 die)",
        {"provider": "aws", "instance_type": "p2.xlarge"},
        ("K80", 12.0, "PCIe"),
    ),
    (
        "NVIDIA GRID K520",
        {"provider": "aws", "instance_type": "g2.2xlarge"},
        ("GRID K520", 4.0, "PCIe"),
    ),
    (
        "NVIDIA Tesla M60 (one GM204 die)",
        {"provider": "aws", "instance_type": "g3.4xlarge"},
        ("M60", 8.0, "PCIe"),
    ),
    (
        "NVIDIA Tesla V100 16GB",
        {"provider": "aws", "instance_type": "p3.2xlarge"},
        ("V100", 16.0, "SXM"),
    ),
    (
        "NVIDIA Tesla V100 32GB",
        {"provider": "aws", "instance_type": "p3dn.24xlarge"},
        ("V100", 32.0, "SXM"),
    ),
    (
        "NVIDIA T4 Tensor Core",
        {"provider": "aws", "instance_type": "g4dn.xlarge"},
        ("T4", 16.0, "PCIe"),
    ),
    (
        "NVIDIA T4G Tensor Core",
        {"provider": "aws", "instance_type": "g5g.xlarge"},
        ("T4", 16.0, "PCIe"),
    ),
    (
        "NVIDIA A10G Tensor Core",
        {"provider": "aws", "instance_type": "g5.xlarge"},
        ("A10G", 24.0, None),
    ),
    (
        "NVIDIA L4 Tensor Core",
        {"provider": "aws", "instance_type": "g6.xlarge"},
        ("L4", 24.0, "PCIe"),
    ),
    (
        "NVIDIA L40S Tensor Core",
        {"provider": "aws", "instance_type": "g6e.xlarge"},
        ("L40S", 48.0, "PCIe"),
    ),
    (
        "NVIDIA H100 Tensor Core",
        {"provider": "aws", "instance_type": "p5.48xlarge"},
        ("H100", 80.0, "SXM"),
    ),
    (
        "NVIDIA H200 Tensor Core",
        {"provider": "aws", "instance_type": "p5e.48xlarge"},
        ("H200", 141.0, "SXM"),
    ),
    (
        "NVIDIA B200",
        {"provider": "aws", "instance_type": "p6-b200.48xlarge"},
        ("B200", 180.0, "SXM"),
    ),
    (
        "AMD Radeon Pro V520",
        {"provider": "aws", "instance_type": "g4ad.xlarge"},
        ("Radeon Pro V520", 8.0, "PCIe"),
    ),
    ("Habana Gaudi", {"provider": "aws", "instance_type": "dl1.24xlarge"}, ("Gaudi", 32.0, None)),
    (
        "AWS Inferentia",
        {"provider": "aws", "instance_type": "inf1.xlarge"},
        ("Inferentia", 8.0, None),
    ),
    (
        "AWS Inferentia2",
        {"provider": "aws", "instance_type": "inf2.xlarge"},
        ("Inferentia2", 32.0, None),
    ),
    (
        "AWS Trainium",
        {"provider": "aws", "instance_type": "trn1.32xlarge"},
        ("Trainium", 32.0, None),
    ),
    (
        "AWS Trainium2",
        {"provider": "aws", "instance_type": "trn2.48xlarge"},
        ("Trainium2", 96.0, None),
    ),
    # Oracle product names (samples/oracle cetools products) and shape GPU names
    ("Compute - Bare Metal GPU Standard - X7", {"provider": "oracle"}, ("P100", 16.0, None)),
    ("Compute - Virtual Machine GPU Standard - X7", {"provider": "oracle"}, ("P100", 16.0, None)),
    ("Compute - GPU Standard - V2", {"provider": "oracle"}, ("V100", 16.0, "SXM")),
    ("Compute - GPU - E3", {"provider": "oracle"}, ("A100", 40.0, "SXM")),
    ("Compute - GPU - A100 - v2", {"provider": "oracle"}, ("A100", 80.0, "SXM")),
    ("Compute  - GPU - A10", {"provider": "oracle"}, ("A10", 24.0, "PCIe")),
    (
        "Oracle Cloud Infrastructure - Compute - GPU - H100",
        {"provider": "oracle", "instance_type": "BM.GPU.H100.8"},
        ("H100", 80.0, "SXM"),
    ),
    (
        "NVIDIA Tesla P100",
        {"provider": "oracle", "instance_type": "VM.GPU2.1"},
        ("P100", 16.0, None),
    ),
    # Linode, Scaleway, OVHcloud, Vultr, DataCrunch, TensorDock, Lambda, Paperspace, Colab, SkyPilot
    ("Dedicated 32GB + RTX6000 GPU x1", {"provider": "linode"}, ("Quadro RTX 6000", 24.0, "PCIe")),
    (
        "RTX6000",
        {"provider": "linode", "instance_type": "g1-gpu-rtx6000-1"},
        ("Quadro RTX 6000", 24.0, "PCIe"),
    ),
    ("NVIDIA RTX 4000 Ada", {"provider": "linode"}, ("RTX 4000 Ada", 20.0, "PCIe")),
    ("L4", {"provider": "scaleway", "instance_type": "L4-1-24G"}, ("L4", 24.0, "PCIe")),
    ("P100", {"provider": "scaleway", "instance_type": "RENDER-S"}, ("P100", 16.0, "PCIe")),
    ("Tesla V100S", {"provider": "ovhcloud", "instance_type": "t2-45"}, ("V100S", 32.0, "PCIe")),
    ("NVIDIA_A100", {"provider": "vultr", "memory_gb": 4}, ("A100", 80.0, "PCIe")),
    ("mi300x", {"provider": "vultr"}, ("MI300X", 192.0, None)),
    ("1x H100 SXM5 80GB", {"provider": "datacrunch"}, ("H100", 80.0, "SXM")),
    ("2x RTX A6000 48GB", {"provider": "datacrunch"}, ("RTX A6000", 48.0, "PCIe")),
    ("1x Tesla V100 16GB", {"provider": "datacrunch"}, ("V100", 16.0, None)),
    ("l40-pcie-48gb", {"provider": "tensordock"}, ("L40", 48.0, "PCIe")),
    ("A10 (24 GB PCIe)", {"provider": "lambdalabs"}, ("A10", 24.0, "PCIe")),
    ("A100 (40 GB SXM4)", {"provider": "lambdalabs"}, ("A100", 40.0, "SXM")),
    ("H100 (80 GB SXM5)", {"provider": "lambdalabs"}, ("H100", 80.0, "SXM")),
    ("RTX 6000 (24 GB)", {"provider": "lambdalabs"}, ("Quadro RTX 6000", 24.0, "PCIe")),
    ("P4000", {"provider": "paperspace"}, ("Quadro P4000", 8.0, "PCIe")),
    ("P5000", {"provider": "paperspace"}, ("Quadro P5000", 16.0, "PCIe")),
    ("P6000", {"provider": "paperspace"}, ("Quadro P6000", 24.0, "PCIe")),
    ("A100-80G", {"provider": "paperspace"}, ("A100", 80.0, None)),
    ("V100-32G", {"provider": "paperspace"}, ("V100", 32.0, None)),
    ("NVIDIA T4", {"provider": "colab"}, ("T4", 16.0, "PCIe")),
    ("A100-80GB", {}, ("A100", 80.0, None)),
    ("RTX_4090", {}, ("RTX 4090", 24.0, "PCIe")),
    ("H100-SXM", {}, ("H100", 80.0, "SXM")),
    ("RTX4090", {}, ("RTX 4090", 24.0, "PCIe")),
    ("A10G", {}, ("A10G", 24.0, None)),
    ("MI250X", {}, ("MI250X", 64.0, None)),
    ("Gaudi2", {}, ("Gaudi2", 96.0, None)),
    ("Intel Gaudi 3", {}, ("Gaudi3", 128.0, None)),
]


def _fields(res: Resolution, n: int) -> tuple:
    return (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor, res.how)[:n]


def test_at_least_100_distinct_real_spellings():
    assert len({raw for raw, _, _ in SPELLINGS}) >= 100


@pytest.mark.parametrize(("raw", "context", "expected"), SPELLINGS)
def test_spelling_resolves(raw, context, expected):
    res = resolve(raw, **context)
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor) == expected
    assert res.raw == raw
    assert res.how in ("alias", "rule", "context", "hint")


# --- how a name was resolved ---------------------------------------------------------


def test_how_alias_rule_context():
    assert resolve("RTX_4090").how == "alias"  # the whole name is a table row
    assert resolve("NVIDIA GeForce RTX 4090").how == "rule"  # alias found inside the name
    # the memory came from the provider's statement, not from the name
    assert resolve("A100 PCIE", memory_gb=80.0).how == "context"
    assert resolve("NVIDIA", provider="aws", instance_type="p5.48xlarge").how == "context"


def test_hint_used_only_when_the_name_does_not_resolve():
    res = resolve("NVIDIA", provider="aws", instance_type="x9.large", hint="H200")
    assert (res.gpu_model, res.gpu_memory_gb, res.how) == ("H200", 141.0, "hint")
    # a resolvable raw name wins; the hint may only fill what the name leaves open
    res = resolve("A100", hint="A100-80GB")
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor, res.how) == (
        "A100",
        80.0,
        None,
        "hint",
    )
    assert resolve("RTX 4090", hint="H100").gpu_model == "RTX 4090"


# --- ambiguous names: context or null, never a guess ---------------------------------


def test_a100_without_size_keeps_memory_and_form_factor_null():
    res = resolve("A100")
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor) == ("A100", None, None)


def test_size_alone_does_not_decide_the_form_factor():
    # 80 GB A100 / H100 exist as SXM and PCIe: form factor stays null
    assert resolve("A100-80GB").gpu_form_factor is None
    assert resolve("V100-32GB").gpu_form_factor is None
    assert resolve("V100-32GB").gpu_memory_gb == 32.0
    assert resolve("H100", memory_gb=80).gpu_form_factor is None
    # ... but a size that exists in one form factor only does
    assert resolve("H100", memory_gb=94).gpu_form_factor == "NVL"


def test_instance_family_decides_what_the_name_leaves_open():
    assert _fields(resolve("A100", provider="aws", instance_type="p4d.24xlarge"), 3) == (
        "A100",
        40.0,
        "SXM",
    )
    assert _fields(
        resolve("A100", provider="azure", instance_type="Standard_NC24ads_A100_v4"), 3
    ) == (
        "A100",
        80.0,
        "PCIe",
    )
    # instance rules are provider-scoped: the same text elsewhere means nothing
    assert _fields(resolve("A100", instance_type="p4d.24xlarge"), 3) == ("A100", None, None)


def test_rtx_6000_needs_memory_or_provider():
    res = resolve("RTX 6000")
    assert res == Resolution(
        None,
        None,
        None,
        "unknown",
        "RTX 6000",
        None,
        ("Quadro RTX 6000", "RTX 6000 Ada", "RTX PRO 6000"),
    )
    assert _fields(resolve("RTX 6000", memory_gb=24), 4) == (
        "Quadro RTX 6000",
        24.0,
        "PCIe",
        "context",
    )
    assert _fields(resolve("RTX 6000", memory_gb=48), 2) == ("RTX 6000 Ada", 48.0)
    assert _fields(resolve("RTX 6000", memory_gb=96), 2) == ("RTX PRO 6000", 96.0)
    assert resolve("RTX 6000", memory_gb=32).gpu_model is None  # no such card
    assert _fields(resolve("RTX6000", provider="linode"), 2) == ("Quadro RTX 6000", 24.0)
    assert resolve("RTX6000", provider="vastai").gpu_model is None


def test_two_models_in_one_name_is_ambiguous():
    assert resolve("A100 or H100").how == "unknown"


def test_memory_written_in_the_name_beats_a_provider_row():
    # GCP's bare 'Nvidia Tesla A100' is the 40 GB GPU; the SKU with '80GB' is not
    assert (
        resolve("Nvidia Tesla A100 GPU running in Americas", provider="gcp").gpu_memory_gb == 40.0
    )
    assert (
        resolve("Nvidia Tesla A100 80GB GPU running in Americas", provider="gcp").gpu_memory_gb
        == 80.0
    )


def test_stated_memory_snaps_to_a_known_size_only_when_close():
    assert resolve("Tesla T4", memory_gb=15.0).gpu_memory_gb == 16.0  # fixed-size model
    assert resolve("RTX 4060 Ti", memory_gb=15.996).gpu_memory_gb == 16.0
    # a fractional slice is not silently turned into a whole GPU's memory
    assert resolve("A100", memory_gb=20.0).gpu_memory_gb == 20.0


# --- unknown names ------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["Foo Accelerator 9000", "Example GPU (40 GB SXM4)", "", "  "])
def test_unknown_name_is_kept(raw):
    res = resolve(raw, memory_gb=40.0, provider="lambdalabs")
    assert res == Resolution(None, None, None, "unknown", raw)


def test_no_name_no_context_is_unknown():
    assert resolve(None) == Resolution(None, None, None, "unknown", None)


def test_tokens_match_whole_words_only():
    assert resolve("A10G").gpu_model == "A10G"  # not A10
    assert resolve("L40S").gpu_model == "L40S"  # not L4 / L40
    assert resolve("NVIDIA A100").gpu_model == "A100"  # not A10
    assert resolve("p4d.24xlarge").gpu_model is None  # not the Tesla P4


# --- normalization and the table ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("RTX_4090", "rtx 4090"),
        ("RTX4090", "rtx 4090"),
        ("RTX 4000Ada", "rtx 4000 ada"),
        ("RTX 4070S Ti", "rtx 4070 super ti"),
        ("GTX 1660 S", "gtx 1660 super"),
        ("NVIDIA A100-SXM4-80GB", "nvidia a100 sxm4 80gb"),
        ("Compute  - GPU - A10", "compute gpu a10"),
    ],
)
def test_normalize(raw, key):
    assert normalize(raw) == key


def test_every_alias_row_has_a_source_and_valid_values():
    with gpus.ALIASES_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        assert row["source"].strip(), row
        assert row["match"] in ("name", "instance"), row
        assert row["gpu_form_factor"] in ("", "SXM", "PCIe", "NVL"), row
        if row["match"] == "instance":
            re.compile(row["pattern"])
            assert row["provider"], f"instance rules must be provider-scoped: {row}"


def test_canonical_names_resolve_to_themselves():
    for model in known_models():
        assert resolve(model).gpu_model == model, model
