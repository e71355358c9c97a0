"""Run configuration: where things live, base-URL overrides, secrets, gate thresholds.

Read from (later wins): built-in defaults, a TOML file (`gpu-prices.toml` in the working
directory, or the path in `GPU_PRICES_CONFIG`), then environment variables:

- `GPU_PRICES_DATASETS_DIR`, `GPU_PRICES_ARCHIVE_DIR`, `GPU_PRICES_STATE_DIR`
- `GPU_PRICES_<PROVIDER>_BASE_URL` (and `GPU_PRICES_<PROVIDER>_<NAME>_BASE_URL` for a
  provider's extra bases, e.g. `GPU_PRICES_AWS_SPOT_BASE_URL`): a mirror or a local test
  server stands in for the provider.
- provider secrets by their documented names (`GOOGLE_API_KEY`, `LAMBDA_API_KEY` ...).

TOML layout:

    datasets_dir = "datasets"
    archive_dir = "archive"
    [base_urls]
    azure = "http://127.0.0.1:8080"
    [gate]
    max_drop_fraction = 0.5
    [gate.providers.vastai]
    max_drop_fraction = 0.8
    [http]
    timeout_s = 60
    max_retries = 4
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "gpu-prices.toml"


@dataclass
class Config:
    root: Path
    datasets_dir: Path
    archive_dir: Path
    state_dir: Path
    base_urls: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # env + [settings]: secrets, regions
    # None = not configured: each provider's own default (ProviderSpec) applies.
    max_drop_fraction: float | None = None
    provider_max_drop_fraction: dict[str, float] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    workdir: Path | None = None

    @classmethod
    def load(cls, root: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        root = Path(root or env.get("GPU_PRICES_ROOT") or Path.cwd()).resolve()
        cfg_path = Path(env.get("GPU_PRICES_CONFIG") or root / CONFIG_FILE)
        data: dict[str, Any] = {}
        if cfg_path.is_file():
            data = tomllib.loads(cfg_path.read_text())

        def path_of(key: str, default: str) -> Path:
            raw = env.get(f"GPU_PRICES_{key.upper()}") or data.get(key) or default
            p = Path(raw)
            return p if p.is_absolute() else root / p

        datasets_dir = path_of("datasets_dir", "datasets")
        cfg = cls(
            root=root,
            datasets_dir=datasets_dir,
            archive_dir=path_of("archive_dir", "archive"),
            state_dir=path_of(
                "state_dir",
                str(datasets_dir.relative_to(root) / ".state")
                if datasets_dir.is_relative_to(root)
                else str(datasets_dir / ".state"),
            ),
            base_urls={k.lower(): str(v) for k, v in (data.get("base_urls") or {}).items()},
            settings={**{str(k): str(v) for k, v in (data.get("settings") or {}).items()}, **env},
            http=dict(data.get("http") or {}),
        )
        gate = data.get("gate") or {}
        if "max_drop_fraction" in gate:
            cfg.max_drop_fraction = float(gate["max_drop_fraction"])
        for name, g in (gate.get("providers") or {}).items():
            if "max_drop_fraction" in g:
                cfg.provider_max_drop_fraction[name] = float(g["max_drop_fraction"])
        for key, value in env.items():
            if key.startswith("GPU_PRICES_") and key.endswith("_BASE_URL"):
                cfg.base_urls[key[len("GPU_PRICES_") : -len("_BASE_URL")].lower()] = value
        return cfg

    def base_url(self, provider: str, default: str, name: str | None = None) -> str:
        key = provider if name is None else f"{provider}_{name}"
        return self.base_urls.get(key.lower(), default)

    def drop_fraction(self, provider: str, spec_default: float) -> float:
        """Row-count fall the gate allows: [gate.providers.X], else [gate], else the
        provider's own default."""
        if provider in self.provider_max_drop_fraction:
            return self.provider_max_drop_fraction[provider]
        if self.max_drop_fraction is not None:
            return self.max_drop_fraction
        return spec_default
