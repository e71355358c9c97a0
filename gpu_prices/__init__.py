"""gpu_prices: the public Python API of the cloud GPU price dataset.

    import gpu_prices
    gpu_prices.load(current=True, gpu="H100")       # DataFrame of price versions
    gpu_prices.cheapest(gpu="H100")                 # what `scrape top --gpu H100` lists
    gpu_prices.changes(since="2026-01-01")          # change events

Every function reads the published tables of a datasets directory: `datasets=` if given,
else `GPU_PRICES_DATASETS_DIR`, else `./datasets` (where `scrape run` publishes). The
`pipelines`/`scrapers` packages are the internal layout; import only this one.
"""

from importlib import metadata as _metadata

from gpu_prices._api import changes, cheapest, datasets_dir, load

try:
    __version__ = _metadata.version("gpu-prices")
except _metadata.PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__", "changes", "cheapest", "datasets_dir", "load"]
