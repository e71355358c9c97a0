"""Paperspace (DigitalOcean): GPU machine types, hourly price and the monthly storage fee.

Source: the Paperspace pricing page of the DigitalOcean docs in its Markdown form,
`https://docs.digitalocean.com/products/paperspace/pricing/index.html.md`. DigitalOcean
documents that every docs page is also served as Markdown at `<page>/index.html.md` (the
note at the top of its Paperspace API reference pages); the Paperspace API itself
(`api.paperspace.com/v1`) exposes machine availability but no prices. No recording of that
DigitalOcean page exists; the parser is validated against a real Paperspace pricing page in
the same form, Paperspace's own Gradient "Machine Types" docs page (Markdown source of
docs.paperspace.com, Paperspace/Docs @ 616262e0, 2022-02-16), and is strict:

- machine tables: every GitHub-style pipe table whose header has a machine column ("Name",
  "Machine", "Machine Type", "Instance", else "GPU") and an hourly price column: a header
  containing "hour", "hourly" or "/hr", or a "Price..." header whose prices all say "/hr"
  in the cell (the real page: `| Name | GPU | Memory | vCPUs | Price |` with "$0.51/hr").
  A "Price" column whose cells state no unit is not hourly: the page is rejected. Optional
  columns: GPUs, GPU memory ("GPU Memory", or "GPU" next to a name column: "8 GB"),
  vCPU(s), RAM ("Memory"). The real page also has an HTML table inside the Markdown (one
  row per GPU, the machine names and their prices as `<li>` lists in the cells: "P4000",
  "P4000x2", "P4000x4" | "$0.51 / hr", ...): each list item is one row. A machine listed in
  two tables at the same price is one offer; at different prices the later row is skipped
  with a warning.
- storage table: a pipe table with a size column ("Size"/"Storage") and a monthly price
  column ("Month"/"Monthly"). Every hourly machine pays the monthly storage/access fee of
  its disk ("starting at 50GB for $5/month", support.paperspace.com Virtual Machine Billing
  Overview); the smallest size's fee goes into `Offer.storage_per_month`. A page without a
  storage table (the real Gradient page has none) leaves `storage_per_month` empty with a
  warning; a storage table with an unparseable row fails.

A missing machine table, a missing column or an unparseable price fails the provider
(`ParseError` naming the field). Rows priced "Contact sales" / "-" / "🔜" (coming soon) are
skipped with a warning, rows of CPU-only machine types (C1 ... C10) are not GPU offers and
are left out.

Output: one offer per GPU machine type, region "global" (Paperspace lists one price for all
its regions), gpu_count from a "GPUs" column or an "x8" suffix (A100-80Gx8).

Footnoted prices: Paperspace marks some prices with asterisks ("$2.24*/hr") whose footnote
on the page says what the price needs ("* 3-year commitment"). Such a price is not an
on-demand price, so its pricing model comes from the footnote text: a 3-year / 36-month
commitment -> `reserved_3y` (term "commitment"), 1-year / 12-month -> `reserved_1y`, a
monthly subscription -> `subscription`. A footnote the page does not explain, or whose text
names none of these, makes the row unusable: it is skipped with a counted warning naming the
footnote (publishing it as on-demand would rank a commitment rate against hourly ones).
Footnotes are lines outside the tables starting with the same run of asterisks
(`\\* text`, `** text`); a Markdown bullet (`* item`) or bold text is not one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
)

NAME = "paperspace"
DEFAULT_BASE_URL = "https://docs.digitalocean.com"
PRICING_PATH = "products/paperspace/pricing/index.html.md"
REGION = "global"
CURRENCY = "USD"
MACHINE_TABLE = "paperspace_machine_types.csv"
GB_PER_TB = Decimal(1000)  # storage sizes are sold in decimal GB/TB

MACHINE_COL_RE = re.compile(r"^(name|machine( type)?|instance( type)?|gpu)$", re.IGNORECASE)
NAME_COL_RE = re.compile(r"^(name|machine( type)?|instance( type)?)$", re.IGNORECASE)
HOURLY_COL_RE = re.compile(r"hour|/\s*hr\b", re.IGNORECASE)
# A bare "Price" header: hourly only if the cells say so ("$0.51/hr", "$0.45 / hr").
PRICE_COL_RE = re.compile(r"^price\b", re.IGNORECASE)
PER_HOUR_CELL_RE = re.compile(r"/\s*(hr|hour)\s*\**$", re.IGNORECASE)
MONTHLY_COL_RE = re.compile(r"month", re.IGNORECASE)
GPUS_COL_RE = re.compile(r"^(gpus|gpu count|# ?gpus)$", re.IGNORECASE)
GPU_MEM_COL_RE = re.compile(r"gpu (memory|ram)|vram", re.IGNORECASE)
CPU_COL_RE = re.compile(r"^v?cpus?$", re.IGNORECASE)
RAM_COL_RE = re.compile(r"^(ram|memory)$", re.IGNORECASE)
SIZE_COL_RE = re.compile(r"^(size|storage|disk)", re.IGNORECASE)
# "$0.51/hr", "$ 0.51 / hour", "$2.24*", "$1,994/month"
PRICE_RE = re.compile(
    r"^\$\s*(\d[\d,]*(?:\.\d+)?)\s*\**\s*(?:/\s*(?:hr|hour|mo|month))?\s*\**$", re.IGNORECASE
)
NOT_PRICED = frozenset({"contact sales", "contact us", "-", "—", "n/a", "coming soon", "🔜"})
# Cells of the HTML tables GitBook writes into Markdown: "<p><strong>P4000</strong></p><ul>
# <li>P4000</li><li>P4000x2</li></ul>"; each <li> is one machine (or its price).
LIST_ITEM_RE = re.compile(r"<li>(.*?)</li>", re.IGNORECASE | re.DOTALL)
TAG_RE = re.compile(r"<[^>]+>")
COUNT_SUFFIX_RE = re.compile(r"^(?P<base>.+?)x(?P<count>\d+)$")
CPU_ONLY_RE = re.compile(r"^C\d+$", re.IGNORECASE)
NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)")
# A footnote marker in a price cell: a run of asterisks ("$2.24*", "$1.15**/hr").
MARKER_RE = re.compile(r"\*+")
# A footnote line: escaped (`\*\* text`) or plain (`** text`) asterisks, then its text.
FOOTNOTE_RE = re.compile(r"^\s*(?P<marks>(?:\\\*)+|\*+)\s*(?P<text>\S.*?)\s*$")
COMMITMENT_TERM = "commitment"
# Footnote wording -> the pricing model it means; the first that matches wins.
FOOTNOTE_MODELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(3|three)[- ]?(year|yr)|\b36[- ]?month", re.IGNORECASE), "reserved_3y"),
    (re.compile(r"\b(1|one)[- ]?(year|yr)|\b12[- ]?month|\bannual", re.IGNORECASE), "reserved_1y"),
    (re.compile(r"\bmonthly\b|\bper month\b|\bsubscription", re.IGNORECASE), "subscription"),
)
SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(GB|TB)$", re.IGNORECASE)


@dataclass(frozen=True)
class MachineType:
    gpu_model_hint: str
    gpu_memory_gb: float


@cache
def machine_types() -> dict[str, MachineType]:
    return {
        row["machine_type"].upper(): MachineType(row["gpu_model_hint"], float(row["gpu_memory_gb"]))
        for row in tk.table(MACHINE_TABLE)
    }


async def fetch(ctx: FetchContext) -> list[Response]:
    return [await ctx.client.get(ctx.url(PRICING_PATH), provider=NAME, kind="pricing-markdown")]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def pipe_tables(text: str) -> list[Table]:
    """GitHub-flavoured pipe tables: header row, a |---|:--:| separator, body rows."""
    lines = text.splitlines()
    tables: list[Table] = []
    i = 0
    while i < len(lines) - 1:
        head, sep = lines[i], lines[i + 1]
        if "|" in head and re.fullmatch(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*", sep):
            header = [_strip_md(c) for c in _cells(head)]
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.extend(_list_rows([_strip_md(c) for c in _cells(lines[i])]))
                i += 1
            tables.append(Table(header, rows))
        else:
            i += 1
    return tables


def _list_rows(cells: list[str]) -> list[list[str]]:
    """One row per `<li>` item of the cells that hold lists (cells without a list repeat)."""
    items = [LIST_ITEM_RE.findall(c) for c in cells]
    counts = {len(i) for i in items if i}
    if not counts:
        return [cells]
    if len(counts) > 1:
        return [cells]  # lists that do not pair up: one unparseable row, the table fails
    n = counts.pop()
    return [
        [
            TAG_RE.sub("", it[k]).strip() if it else TAG_RE.sub(" ", c).strip()
            for c, it in zip(cells, items, strict=True)
        ]
        for k in range(n)
    ]


def _strip_md(cell: str) -> str:
    cell = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)  # links keep their text
    return re.sub(r"(\*\*|__|`)", "", cell).replace("\\*", "*").strip()


def _col(header: list[str], rx: re.Pattern[str]) -> int | None:
    return next((i for i, h in enumerate(header) if rx.search(h)), None)


def _name_col(header: list[str]) -> int | None:
    """The machine-name column; a "GPU" column only when no name column exists."""
    named = _col(header, NAME_COL_RE)
    return named if named is not None else _col(header, MACHINE_COL_RE)


def _hour_col(t: Table) -> int | None:
    """The hourly price column: named so, or a "Price" column whose prices all say /hr."""
    named = _col(t.header, HOURLY_COL_RE)
    if named is not None:
        return named
    for i, h in enumerate(t.header):
        if not PRICE_COL_RE.search(h):
            continue
        priced = [r[i] for r in t.rows if i < len(r) and _price(r[i]) is not None]
        if priced and all(PER_HOUR_CELL_RE.search(c.strip()) for c in priced):
            return i
    return None


def _gpu_mem_col(header: list[str], name_col: int) -> int | None:
    named = _col(header, GPU_MEM_COL_RE)
    if named is not None:
        return named
    # "| Name | GPU | Memory |": next to a name column, "GPU" holds the GPU's memory ("8 GB").
    return next((i for i, h in enumerate(header) if h.lower() == "gpu" and i != name_col), None)


def _price(cell: str) -> Decimal | None:
    m = PRICE_RE.match(cell.strip())
    return tk.to_decimal(m.group(1).replace(",", "")) if m else None


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    pages = [r for r in responses if not r.not_modified]
    if not pages:
        raise ParseError(
            NAME,
            responses[0].url if responses else "(no responses)",
            "no pricing page",
            field="body",
        )
    for resp in pages:
        result.extend(_parse_page(resp))
    return result


def footnotes(text: str) -> dict[int, str]:
    """Asterisk count -> footnote text, from the lines of the page outside its tables."""
    notes: dict[int, str] = {}
    for line in text.splitlines():
        if "|" in line:
            continue  # table rows hold markers, not footnotes
        m = FOOTNOTE_RE.match(line)
        if m is None:
            continue
        marks, note = m.group("marks"), m.group("text")
        escaped = marks.startswith("\\")
        count = marks.count("*")
        if not escaped and (
            (count == 1 and line.lstrip()[1:2] == " ")  # "* item": a bullet
            or note.endswith("*")  # "**bold**" / "*italic*"
        ):
            continue
        notes.setdefault(count, _strip_md(note))
    return notes


def footnote_model(note: str) -> str | None:
    """The pricing model a footnote's wording means, or None when it names no known term."""
    return next((model for rx, model in FOOTNOTE_MODELS if rx.search(note)), None)


def _parse_page(resp: Response) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    src = tk.source(resp)
    text = resp.read().decode("utf-8", errors="replace")
    tables = pipe_tables(text)
    notes = footnotes(text)
    machines = [t for t in tables if _name_col(t.header) is not None and _hour_col(t) is not None]
    if not machines:
        raise ParseError(
            NAME, resp.url, "no machine pricing table (machine + hourly columns)", field="machines"
        )
    storage_fee, storage_size = _storage_fee(resp, tables)
    if storage_fee is None:
        result.warnings.append(
            f"{NAME}: {resp.url}: no storage table on the page; storage_per_month left empty"
        )
    seen: dict[str, Decimal] = {}
    for machine in machines:
        _machine_table(resp, src, rows, result, machine, notes, seen, storage_fee, storage_size)
    if not result.offers:
        raise ParseError(
            NAME,
            resp.url,
            "machine table has no priced GPU machine types",
            field=rows.most_common_field or "machines",
        )
    return result


def _machine_table(
    resp: Response,
    src: tk.Source,
    rows: tk.Rows,
    result: ParseResult,
    machine: Table,
    notes: dict[int, str],
    seen: dict[str, Decimal],
    storage_fee: Decimal | None,
    storage_size: float | None,
) -> None:
    name_col = _name_col(machine.header)
    hour_col = _hour_col(machine)
    month_col = next(
        (i for i, h in enumerate(machine.header) if MONTHLY_COL_RE.search(h) and i != hour_col),
        None,
    )
    gpus_col = _col(machine.header, GPUS_COL_RE)
    assert name_col is not None and hour_col is not None
    mem_col = _gpu_mem_col(machine.header, name_col)
    cpu_col = _col(machine.header, CPU_COL_RE)
    ram_col = _col(machine.header, RAM_COL_RE)
    for row in machine.rows:
        if len(row) != len(machine.header):
            raise ParseError(
                NAME,
                resp.url,
                f"row {row!r} has {len(row)} cells, header has {len(machine.header)}",
                field="machines",
            )
        name = row[name_col]
        if not name or CPU_ONLY_RE.match(name):
            continue
        cell = row[hour_col]
        price = _price(cell)
        if price is None:
            if cell.strip().lower() in NOT_PRICED:
                rows.skip(resp.url, name, f"hourly price {cell!r}", field=machine.header[hour_col])
                continue
            raise ParseError(
                NAME,
                resp.url,
                f"{name}: unparseable hourly price {cell!r}",
                field=f"machines[{name}].{machine.header[hour_col]}",
            )
        pricing_model, term, note = "on_demand", None, None
        marker = MARKER_RE.search(cell)
        if marker is not None:
            mark = marker.group(0)
            note = notes.get(len(mark))
            model = footnote_model(note) if note is not None else None
            if model is None:
                why = (
                    f"footnote {mark!r} ({note!r}) names no commitment term we know"
                    if note is not None
                    else f"footnote {mark!r} is not explained on the page"
                )
                rows.skip(
                    resp.url,
                    name,
                    f"price {cell!r}: {why}; not an on-demand price",
                    field=machine.header[hour_col],
                )
                continue
            pricing_model = model
            term = COMMITMENT_TERM if model.startswith("reserved") else None
        key = f"{name.upper()}|{pricing_model}"
        if key in seen:
            if seen[key] != price:
                rows.skip(
                    resp.url,
                    name,
                    f"listed again at {cell!r} (first at ${seen[key]}); the first is kept",
                    field=machine.header[hour_col],
                )
            continue
        seen[key] = price
        m = COUNT_SUFFIX_RE.match(name)
        base, count = (m.group("base"), int(m.group("count"))) if m else (name, 1)
        if gpus_col is not None and NUMBER_RE.search(row[gpus_col]):
            count = int(float(NUMBER_RE.search(row[gpus_col]).group(1)))  # type: ignore[union-attr]
        known = machine_types().get(base.upper())
        if known is None:
            result.unknown.append(
                f"{NAME}: machine type {name!r} not in paperspace_machine_types.csv"
            )
        gpu_mem = _number(row[mem_col]) if mem_col is not None else None
        extra: dict[str, object] = {
            "storage_size_gb": storage_size,
            "price_cell": cell,
            "has_footnote": marker is not None,
        }
        if note is not None:
            extra["footnote"] = note
        if month_col is not None:
            monthly = _price(row[month_col])
            if monthly is not None:
                extra["monthly_subscription_price"] = str(monthly)
        result.offers.append(
            src.offer(
                instance_type=name,
                region=REGION,
                pricing_model=pricing_model,
                term=term,
                currency=CURRENCY,
                price_per_hour=float(price),
                gpu_count=float(count),
                gpu_name_raw=base,
                gpu_model_hint=known.gpu_model_hint if known else None,
                gpu_memory_gb=gpu_mem
                if gpu_mem is not None
                else (known.gpu_memory_gb if known else None),
                vcpus=_number(row[cpu_col]) if cpu_col is not None else None,
                memory_gb=_number(row[ram_col]) if ram_col is not None else None,
                storage_per_month=float(storage_fee) if storage_fee is not None else None,
                price_unit_published="hour",
                extra=extra,
            )
        )


def _number(cell: str) -> float | None:
    """The first number in a text cell ("16 GB" -> 16.0)."""
    m = NUMBER_RE.search(cell)
    return tk.to_float(m.group(1)) if m else None


def _storage_fee(resp: Response, tables: list[Table]) -> tuple[Decimal | None, float | None]:
    """Monthly fee of the smallest disk: what every hourly machine pays while it exists."""
    for t in tables:
        size_col, month_col = _col(t.header, SIZE_COL_RE), _col(t.header, MONTHLY_COL_RE)
        if size_col is None or month_col is None or size_col == month_col:
            continue
        priced: list[tuple[Decimal, Decimal]] = []
        for row in t.rows:
            sm = SIZE_RE.match(row[size_col].strip()) if len(row) == len(t.header) else None
            fee = _price(row[month_col]) if len(row) == len(t.header) else None
            if sm is None or fee is None:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"unparseable storage row {row!r}",
                    field=f"storage.{t.header[month_col]}",
                )
            size_gb = Decimal(sm.group(1)) * (GB_PER_TB if sm.group(2).upper() == "TB" else 1)
            priced.append((size_gb, fee))
        if priced:
            size_gb, fee = min(priced)
            return fee, float(size_gb)
    return None, None


PROVIDER = ProviderSpec(
    name=NAME,
    title="Paperspace (DigitalOcean) machines",
    pricing_page_url="https://www.paperspace.com/pricing",
    source_urls=(f"{DEFAULT_BASE_URL}/{PRICING_PATH}",),
    pricing_models=("on_demand", "reserved_1y", "reserved_3y", "subscription"),
    validated_against=(
        "recorded response: gradient-docs_machine-types_2022-02-16.md (2022-02-16; Paperspace's "
        "Gradient Machine Types docs page, Paperspace/Docs more/instance-types/README.md @ 616262e0)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="0 4 * * *",
    notes=(
        "Hourly machine prices plus the monthly storage/access fee of the smallest disk "
        "(storage_per_month). Checked against Paperspace's own Gradient Machine Types page "
        "(2022-02-16); the DigitalOcean page it fetches today is not recorded anywhere."
    ),
)
