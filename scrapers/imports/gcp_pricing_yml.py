"""`gcp-pricing-yml`: Cyclenerd/google-cloud-pricing-cost-calculator `pricing.yml`.

The file (Apache-2.0, weekly since 2022-02) holds whole-VM prices that its author builds
from the Cloud Billing SKUs: `compute.instance.<machine type>` with its CPU, RAM and
accelerator counts (`a100: 1`, `l4: 2`, ...) and `cost.<region>.{hour,hour_spot,month,...}`.
We keep the machine types that carry GPUs (keys in scrapers/data/gcp_pricing_yml_gpus.csv)
and their `hour` (on demand) and `hour_spot` (spot) prices; monthly and commitment figures
are derived from those by the author and add nothing.

The file is 3-5 MB of YAML of which the GPU machine types are ~2%: they are read with a
line scan of `compute: instance:` (see `gpu_blocks`), so a version costs milliseconds. A machine type that carries a key
the table does not know is listed in the run summary (a new GPU family), not guessed.

Price basis. These prices are the author's calculation, not Google's price list: his
`build/pricing.pl` multiplies the SKU prices by the machine definition in `build/gcp.yml`
(vCPUs `cpu`, GB `ram`, the accelerator key and count, and since 2024-05-21 the GB of
bundled local SSD `local-ssd`; the other keys, `local`, `bandwidth`, `type`, are not
priced). When he corrects a definition every region's price of that machine type steps
although Google repriced nothing. Each offer is therefore stamped with `price_basis`: the
priced keys of its definition as the version itself states them, e.g.
"a100-80gb=1;cpu=12;local-ssd=375;ram=170". Change detection re-baselines an offer whose
basis changed instead of raising `price_changed` (pipelines/derive/changes.py, Source
redefinitions). The redefinitions in the imported history (commits of
Cyclenerd/google-cloud-pricing-cost-calculator; the first pricing.yml that has them):

| date | commit | definition change | price step |
|---|---|---|---|
| 2022-02-16 | 5a357cbea916 "a2-highgpu-1g fix" (pricing.yml a13248999c72) | a2-highgpu-1g `ram` 58 -> 85 | +3.2..3.7% (northamerica-northeast2 +18%) |
| 2022-10-02 | ab2ac6c91f48 "a2-ultragpu" (pricing.yml 9d5972634e34) | a2-ultragpu-* `a100` -> `a100-80gb` (priced with the A100 80GB SKU) | +25..37% (northamerica-northeast2 +357%: priced without its GPU before) |
| 2024-05-21 | 2561275f6825 "Bundled local SSD (#193)" | `local-ssd` added to a2-ultragpu-* (375-3000 GB) and a3-highgpu-8g (6000 GB), now priced | +0.6..0.9% |
| 2024-10-24 | a8542e899c7e "a3 ssd fix" (pricing.yml 46e43d809b14) | a3-highgpu-1g/2g/4g `local-ssd` 6000 -> 750/1500/3000 | -0.6..-5.7% |

All of it is in the data, so no date or commit is hard-coded here; a future redefinition
of the same kind is caught the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers import _toolkit as tk
from scrapers.base import ParseError, ParseResult, Response
from scrapers.imports import ImportFormat, import_spec

NAME = "gcp_cyclenerd"
FORMAT = "gcp-pricing-yml"
SOURCE = "https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator"
TABLE = "gcp_pricing_yml_gpus.csv"
# Properties of a machine type that are not accelerators.
NON_GPU_KEYS = frozenset(
    {"cpu", "ram", "bandwidth", "cost", "sud", "local-ssd", "local", "tier1", "type"}
)
PRICE_KEYS = {"hour": "on_demand", "hour_spot": "spot"}
# Keys of a machine definition that `build/pricing.pl` prices besides the accelerators;
# `local` (2022-2023) was informational: dropping it on 2023-05-09 moved no price.
PRICED_KEYS = ("cpu", "ram", "local-ssd")
PRICE_DIGITS = 9  # = pipelines.schema.PRICE_DECIMALS, the precision prices are compared at


def gpu_blocks(text: str) -> dict[str, dict]:
    """The `compute: instance:` machine types that name an accelerator.

    {machine: {"props": {key: text}, "cost": {region: {price key: text}}}}. The layout is
    the fixed indentation `yaml.dump` writes (4 spaces per machine type, 6 per property, 8
    per region, 10 per price), read line by line: a YAML library would spend seconds per
    version on the 98% of the file that is not GPUs. Raises ValueError when there is no
    `compute: instance:` section.
    """
    lines = text.splitlines()
    try:
        start = lines.index("compute:")
        start = lines.index("  instance:", start)
    except ValueError:
        raise ValueError("no 'compute: instance:' section") from None
    out: dict[str, dict] = {}
    machine: dict | None = None
    region: dict | None = None
    in_cost = False
    for line in lines[start + 1 :]:
        if line and not line.startswith("    "):
            break  # the next section at a lower indentation
        indent = len(line) - len(line.lstrip(" "))
        key, _, value = line.strip().partition(":")
        value = value.strip().strip("'\"")
        if indent == 4:
            machine = {"props": {}, "cost": {}}
            out[key] = machine
            in_cost, region = False, None
        elif machine is None:
            continue
        elif indent == 6:
            in_cost = key == "cost"
            if not in_cost:
                machine["props"][key] = value
        elif indent == 8 and in_cost:
            region = machine["cost"].setdefault(key, {})
        elif indent == 10 and in_cost and region is not None:
            region[key] = value
    return {m: b for m, b in out.items() if any(k not in NON_GPU_KEYS for k in b["props"])}


def price_basis(props: dict[str, str]) -> str:
    """The priced part of a machine definition, `key=value` sorted by key and joined by
    `;`: what the version's prices were computed from (module docstring, Price basis)."""
    keys = sorted(k for k in props if k in PRICED_KEYS or k not in NON_GPU_KEYS)
    return ";".join(f"{k}={props[k]}" for k in keys)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    gpus = tk.table_by(TABLE, "yml_key")
    for resp in tk.fresh(responses):
        text = resp.read().decode("utf-8", errors="replace")
        try:
            machines = gpu_blocks(text)
        except ValueError as exc:
            raise ParseError(NAME, resp.url, str(exc), field="compute.instance") from None
        src = tk.source(resp)
        for machine, block in sorted(machines.items()):
            props = block["props"]
            accel = [k for k in props if k not in NON_GPU_KEYS]
            known = [k for k in accel if k in gpus]
            if not known:
                result.unknown.append(
                    f"{NAME}: {machine} accelerator key(s) {accel} not in {TABLE}"
                )
                continue
            key = known[0]
            gpu = gpus[key]
            basis = price_basis(props)
            for region, prices in sorted(block["cost"].items()):
                for price_key, pricing_model in PRICE_KEYS.items():
                    if price_key not in prices:
                        continue
                    rows.found()
                    with rows.guard(resp.url, f"{machine} {region} {price_key}"):
                        price = tk.require_decimal(prices[price_key], f"cost.{region}.{price_key}")
                        count = tk.require_decimal(props[key], key)
                        result.offers.append(
                            src.offer(
                                instance_type=machine,
                                region=region,
                                pricing_model=pricing_model,
                                currency="USD",
                                price_per_hour=float(price),
                                gpu_count=float(count),
                                gpu_name_raw=gpu["gpu_name_raw"],
                                gpu_model_hint=gpu["gpu_model_hint"] or None,
                                gpu_memory_gb=tk.opt_float(gpu["gpu_memory_gb"]),
                                vcpus=tk.to_float(props.get("cpu")),
                                memory_gb=tk.to_float(props.get("ram")),
                                extra={"yml_key": key, "source": SOURCE},
                                price_basis=basis,
                            )
                        )
    rows.require_offers(
        responses,
        default_field="compute.instance",
        none_found="no GPU machine type with prices",
        all_failed="no usable GPU machine type price",
    )
    return result


def _round(value: str) -> str:
    d = tk.to_decimal(value)
    if d is None:
        return value
    return f"{round(d, PRICE_DIGITS).normalize():f}"


def excerpt(text: str) -> str:
    """The GPU machine types of a version with their hour/hour_spot prices, in the file's
    own layout (what examples/ ships). Prices are rounded to PRICE_DIGITS decimals: the
    author's float arithmetic flips the 14th digit from week to week
    ("9.32986567835617" / "...616"), which the history already ignores (it compares at 9
    decimals); rounded, such versions are byte-identical and a replay skips them unread."""
    out = ["---", "compute:", "  instance:"]
    for machine, block in sorted(gpu_blocks(text).items()):
        out.append(f"    {machine}:")
        out.extend(f"      {k}: {v}" for k, v in sorted(block["props"].items()))
        out.append("      cost:")
        for region, prices in sorted(block["cost"].items()):
            kept = [(k, _round(v)) for k, v in sorted(prices.items()) if k in PRICE_KEYS]
            if kept:
                out.append(f"        {region}:")
                out.extend(f"          {k}: {v}" for k, v in kept)
    return "\n".join(out) + "\n"


PROVIDER = import_spec(
    NAME,
    title="Google Cloud GPU machine types (Cyclenerd pricing.yml, imported)",
    source_url=SOURCE,
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: pricing.yml of Cyclenerd/google-cloud-pricing-cost-calculator "
        "(2022-02, 2023-05 and 2023-08 versions, GPU machine types)"
    ),
    parse=parse,
    notes="Imported git-scraped catalog: whole-VM prices of a2/a3/g2/g4 machine types.",
    pricing_page_url="https://cloud.google.com/compute/gpus-pricing",
    import_format=FORMAT,
    gpu_rules_of="gcp",  # its machine types are that cloud's (instance families)
)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=parse,
    providers=(NAME,),
    source=SOURCE,
    license="Apache-2.0",
    description="GCP whole-VM hourly and spot prices per machine type and region",
    excerpt=lambda body: excerpt(body.decode("utf-8", errors="replace")).encode(),
    excerpt_note=(
        "the GPU machine types with their hour and hour_spot prices (rounded to 9 decimals), "
        "in the file's layout"
    ),
)
