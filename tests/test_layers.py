"""Imports go one way, downward, with no cycles (README, "Development").

Layers, lowest first: `scrapers/*` and the base modules `pipelines/*.py` (config, schema,
tables, errors ...) < `pipelines/ingest` < `store` < `derive` < `site` < `notify` < `ops` <
`cli` < `gpu_prices` (the public API, on top of everything).
Every import counts, including those inside functions (that is how a circle hides) and
under `if TYPE_CHECKING:` (a type from an upper layer is still an upward dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scrapers", "pipelines", "gpu_prices")
LAYERS = ("ingest", "store", "derive", "site", "notify", "ops", "cli")
API = "gpu_prices"


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of our packages under `root`."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def layer(module: str) -> int:
    """0 for scrapers and the base modules, then 1.. in LAYERS order, the API last."""
    parts = module.split(".")
    if parts[0] == API:
        return len(LAYERS) + 1
    if parts[0] == "pipelines" and len(parts) > 1 and parts[1] in LAYERS:
        return 1 + LAYERS.index(parts[1])
    return 0


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `module` imports (anywhere in the file)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            # `import a.b.c` depends on the deepest of our modules it names.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    return {m: imports(m, p, known) for m, p in mods.items()}


def upward_imports(g: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} ({_name(layer(m))}) imports {t} ({_name(layer(t))})"
        for m, targets in g.items()
        for t in targets
        if layer(t) > layer(m)
    )


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def _name(n: int) -> str:
    return "base" if n == 0 else API if n > len(LAYERS) else LAYERS[n - 1]


def test_no_upward_imports_between_layers():
    assert upward_imports(graph(ROOT)) == []


def test_no_import_cycles():
    assert cycles(graph(ROOT)) == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    def write(rel: str, text: str = "") -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    write("scrapers/__init__.py")
    write("pipelines/__init__.py")
    write("pipelines/schema.py")
    write("pipelines/store/__init__.py")
    write("pipelines/store/history.py", "def f():\n    from pipelines.ops import run\n")
    write("pipelines/ops/__init__.py")
    write("pipelines/ops/run.py", "from ..store import history\n")
    write("pipelines/ops/report.py", "import pipelines.schema\n")
    g = graph(tmp_path)
    assert upward_imports(g) == ["pipelines.store.history (store) imports pipelines.ops.run (ops)"]
    assert cycles(g) == [["pipelines.ops.run", "pipelines.store.history"]]
    assert g["pipelines.ops.report"] == {"pipelines.schema"}
