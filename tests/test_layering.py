"""Import layering of engine/ and app/, checked on the source (AST) of every .py file.

Every import counts, at module level or hidden inside a function. A module belongs to the layer of
the most specific pattern in ``LAYERS`` that names it (``engine.sensor`` names engine/sensor.py or
the package engine/sensor/ and all its submodules; ``engine.study*`` is a glob), and imports only
from its own layer or a lower one. Lowest first:

- base: plain data and self-contained maths (input errors, Zernike, threads, content memos, files, phones, spectra,
  metrics, perceptual metrics, the ISP's names and colours, the colour chain);
- design: the design point;
- physics: optics, sensor, scenes and the staged capture (simulate);
- isp: the image signal processors, the Neural ISP included;
- measure: the MTF instruments;
- study: tables, figures (plotly) and the DNG writer;
- sweep: design-space sweeps (they run the study's measurements);
- entry: the command line;
- app: the Streamlit app, which may import any engine module; the engine never imports it.

Further rules: plotly is imported only from the study layer up and streamlit only by the app; torch
(and pytorch-msssim) only under engine/isp/neural and in engine/perceptual.py; every module outside
engine/isp/neural imports without torch (no module-level torch import in it, its packages, or
anything they import at module level), so the engine, the app and perceptual's PSNR work without
it; and no import cycle among engine modules. An import names the most specific module that
exists (``from engine.isp import color`` is engine.isp.color, ``from engine.isp import
PIPELINES`` is engine.isp); for the layers and cycles that module is the dependency, not the
packages around it, so a submodule importing its package's sibling adds no edge to the package.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("engine", "app")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("engine", "engine.validation", "engine.zernike", "engine.parallel", "engine.memo", "engine.fileio", "engine.devices",
              "engine.spectra", "engine.metrics", "engine.perceptual", "engine.isp.pipelines", "engine.isp.color")),
    ("design", ("engine.design",)),
    ("physics", ("engine.optics", "engine.sensor", "engine.scenes", "engine.simulate")),
    ("isp", ("engine.isp",)),
    ("measure", ("engine.instruments",)),
    ("study", ("engine.study*", "engine.figures", "engine.dng")),
    ("sweep", ("engine.sweep*",)),
    ("entry", ("engine.cli*", "engine.__main__")),
    ("app", ("app",)),
)
"""Layers, lowest first, each with the patterns of its modules. ``engine`` (the empty root package)
names only itself."""

THIRD_PARTY_FLOOR = {"plotly": "study", "streamlit": "app"}
"""Third-party packages imported only from this layer up."""

TORCH_PACKAGES = ("torch", "pytorch_msssim")
TORCH_ZONE = ("engine.isp.neural", "engine.perceptual")
"""The only modules (with their submodules) that import a TORCH_PACKAGES package."""
NEEDS_TORCH_AT_IMPORT = ("engine.isp.neural",)
"""The only modules (with their submodules) that may need torch to be imported."""

KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {}
"""Violations still to fix: (rule, importing module glob, imported name glob) -> what to do. An
entry that no longer matches a violation fails the test: remove it once fixed."""


@dataclass(frozen=True)
class Import:
    """One imported name as written, made absolute (``engine.isp.color``, ``torch.nn.functional``)."""

    name: str
    line: int
    top_level: bool  # runs when the importing module is imported (not inside a function)


@dataclass(frozen=True)
class Violation:
    """A broken ``rule`` (layer, third-party, torch-zone, torch-at-import, cycle) in ``module``."""

    rule: str
    module: str
    target: str
    detail: str

    def matches(self, key: tuple[str, str, str]) -> bool:
        """``key`` (a KNOWN_VIOLATIONS key) describes this violation."""
        rule, module, target = key
        return rule == self.rule and fnmatchcase(self.module, module) and fnmatchcase(self.target, target)

    def known(self) -> bool:
        return any(self.matches(key) for key in KNOWN_VIOLATIONS)


# --------------------------------------------------------------------------------- the import graph

def imports_of(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import in ``source`` (module ``module``), relative ones resolved."""
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(alias.name, child.lineno, top_level) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[:len(package) - (child.level - 1)]
                    base = ".".join(package + ([child.module] if child.module else []))
                found.extend(Import(base if alias.name == "*" else f"{base}.{alias.name}", child.lineno, top_level)
                             for alias in child.names)
            visit(child, top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), True)
    return found


def resolve(name: str, modules) -> str:
    """The most specific module in ``modules`` that ``name`` names, else its top-level package."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return parts[0]


def named_by(module: str, pattern: str) -> bool:
    """``pattern`` names ``module``: the module itself, a submodule of it, or a glob match."""
    if pattern == "engine":
        return module == "engine"
    return module == pattern or module.startswith(pattern + ".") or ("*" in pattern and fnmatchcase(module, pattern))


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the most specific pattern naming ``module``, None when none does."""
    best = max(((len(p.rstrip("*")), k) for k, (_, patterns) in enumerate(LAYERS) for p in patterns
                if named_by(module, p)), default=None)
    return None if best is None else best[1]


def in_any(module: str, patterns) -> bool:
    """Some pattern names ``module``."""
    return any(named_by(module, p) for p in patterns)


def where(imp: Import) -> str:
    """Where ``imp`` is, for a message."""
    return f"line {imp.line}" + ("" if imp.top_level else ", inside a function")


def find_cycle(graph: dict[str, dict[str, Import]], members: set[str]) -> list[str]:
    """A shortest cycle through the first of ``members`` (a strongly connected set)."""
    start = min(members)
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1] + [start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = set()
            while not members or member != node:
                member = stack.pop()
                on_stack.discard(member)
                members.add(member)
            if len(members) > 1:
                found.append(members)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def check(sources: dict[str, tuple[str, bool]]) -> list[Violation]:
    """All violations of the rules in ``sources``: {module name: (source, is package)}."""
    found: list[Violation] = []
    imports = {m: imports_of(src, m, is_package) for m, (src, is_package) in sources.items()}
    graph: dict[str, dict[str, Import]] = {m: {} for m in sources}  # engine -> engine, every import
    runs: dict[str, dict[str, Import | None]] = {m: {} for m in sources}  # what importing m runs
    torch_at_import: dict[str, Import] = {}
    for module, found_imports in imports.items():
        layer = layer_of(module)
        if layer is None:
            found.append(Violation("layer", module, module, f"{module} is in no layer: add it to LAYERS"))
            continue
        if "." in module and module.rsplit(".", 1)[0] in sources:
            runs[module][module.rsplit(".", 1)[0]] = None  # its package runs first
        for imp in found_imports:
            target = resolve(imp.name, sources)
            top = target.split(".")[0]
            if top in FIRST_PARTY:
                target_layer = layer_of(target)
                if target_layer is not None and target_layer > layer:
                    found.append(Violation("layer", module, target, f"{module} ({LAYERS[layer][0]}) imports {target} "
                                                                    f"({LAYERS[target_layer][0]}), {where(imp)}"))
                if top == "engine" and module.startswith("engine.") and target in graph and target != module:
                    graph[module].setdefault(target, imp)
                if imp.top_level:
                    runs[module].setdefault(target, imp)
                continue
            floor = THIRD_PARTY_FLOOR.get(top)
            if floor is not None and layer < [name for name, _ in LAYERS].index(floor):
                found.append(Violation("third-party", module, top, f"{module} ({LAYERS[layer][0]}) imports {top}, "
                                                                   f"allowed from the {floor} layer up, {where(imp)}"))
            if top in TORCH_PACKAGES:
                if not in_any(module, TORCH_ZONE):
                    found.append(Violation("torch-zone", module, top, f"{module} imports {top}, {where(imp)}"))
                if imp.top_level:
                    torch_at_import.setdefault(module, imp)
    for module in sources:
        if layer_of(module) is None or in_any(module, NEEDS_TORCH_AT_IMPORT):
            continue
        path = _path_to(module, runs, torch_at_import)
        if path is not None:
            steps = "".join(f"{a} ({'its package' if runs[a][b] is None else f'line {runs[a][b].line}'}) -> "
                            for a, b in zip(path, path[1:]))
            found.append(Violation("torch-at-import", module, path[-1], f"importing {module} imports torch: "
                                   f"{steps}{path[-1]} (line {torch_at_import[path[-1]].line}) -> torch"))
    for members in strongly_connected(graph):
        cycle = find_cycle(graph, members)
        steps = " -> ".join(f"{a} (line {graph[a][b].line})" for a, b in zip(cycle, cycle[1:]))
        found.append(Violation("cycle", cycle[0], cycle[1], f"{steps} -> {cycle[0]}; strongly connected: "
                                                             f"{', '.join(sorted(members))}"))
    return list(dict.fromkeys(found))  # one report per violation, however many names a line imports


def _path_to(start: str, runs: dict[str, dict[str, Import | None]], goals) -> list[str] | None:
    """The modules along ``runs`` from ``start`` to the nearest one in ``goals``, or None."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node in goals:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            return path[::-1]
        for nxt in runs[node]:
            if nxt in runs and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None


@lru_cache(maxsize=1)
def project_violations() -> tuple[Violation, ...]:
    """Violations in every .py file under engine/ and app/."""
    sources = {}
    for package in FIRST_PARTY:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            sources[".".join(parts[:-1] if is_package else parts)] = (path.read_text(encoding="utf-8"), is_package)
    return tuple(check(sources))


# ------------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("rule", ["layer", "third-party", "torch-zone", "torch-at-import", "cycle"])
def test_rule_holds(rule):
    broken = [v.detail for v in project_violations() if v.rule == rule and not v.known()]
    assert not broken, f"{rule} rule broken (see tests/test_layering.py):\n" + "\n".join(broken)


def test_known_violations_still_exist():
    for key in KNOWN_VIOLATIONS:
        assert any(v.matches(key) for v in project_violations()), f"fixed: remove {key} from KNOWN_VIOLATIONS"


def test_checker_reports_synthetic_violations():
    sources = {
        "engine": ("", True),
        "engine.design": ("from engine import study\n", False),
        "engine.study": ("import plotly.graph_objects\n\ndef f():\n    from . import design\n", False),
        "engine.optics": ("def f():\n    from plotly import io\n", False),
        "engine.sensor": ("from .sensor_noise import x\n", True),
        "engine.sensor.sensor_noise": ("from engine.sensor import helper\n", False),
        "engine.perceptual": ("import numpy\nimport torch.nn\n", False),
        "engine.isp": ("def run():\n    import torch\n", True),
        "engine.isp.neural": ("import torch\n", True),
        "engine.isp.neural.universal": ("", False),
        "engine.isp.traditional": ("from engine.isp.neural import universal\n", False),
        "engine.mystery": ("", False),
        "app": ("", True),
        "app.main": ("import streamlit\nfrom engine.study import f\n", False),
    }
    found = {(v.rule, v.module, v.target) for v in check(sources)}
    assert found == {
        ("layer", "engine.design", "engine.study"),
        ("layer", "engine.mystery", "engine.mystery"),
        ("third-party", "engine.optics", "plotly"),
        ("torch-zone", "engine.isp", "torch"),
        ("torch-at-import", "engine.perceptual", "engine.perceptual"),
        ("torch-at-import", "engine.isp.traditional", "engine.isp.neural"),
        ("cycle", "engine.design", "engine.study"),
        ("cycle", "engine.sensor", "engine.sensor.sensor_noise"),
    }
    cycle = next(v for v in check(sources) if v.rule == "cycle" and v.module == "engine.design")
    assert "engine.design (line 1) -> engine.study (line 4) -> engine.design" in cycle.detail
