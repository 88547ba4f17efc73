"""The layout's rules (ARCHITECTURE.md), checked on the source: dependencies between the packages
point one way, no two modules import each other (directly or round a longer loop), and no module
is past the size budget."""
import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "bptt"

# The packages, lowest first: a package may import only those before it (and itself).
ORDER = ("_validate", "nn", "cells", "decode", "data", "io", "viz", "training", "bench", "cli")
MAX_LINES = 400


def modules(root=SRC):
    """{dotted name: (path, is_package)} of every module under root (names start with 'bptt')."""
    out = {}
    for p in root.rglob("*.py"):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if pkg else parts)] = (p, pkg)
    return out


def import_edges(mods):
    """{module: {imported bptt modules}}, counting imports inside functions too."""
    edges = {}
    for m, (p, pkg) in mods.items():
        found = set()
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(n, ast.Import):
                targets = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                base = m.split(".") if pkg else m.split(".")[:-1]
                if n.level:
                    base = base[: len(base) - n.level + 1]
                else:
                    base = []
                base = ".".join(base + ([n.module] if n.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in n.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m:
                    found.add(t)
        edges[m] = found
    return edges


def package_of(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None          # "bptt" itself: None


def layer_violations(edges):
    bad = []
    for m, targets in edges.items():
        src = package_of(m)
        if src is None or src not in ORDER:
            continue
        for t in targets:
            dst = package_of(t)
            if dst is None:
                bad.append(f"{m} imports the top-level package {t}")
            elif dst in ORDER and ORDER.index(dst) > ORDER.index(src):
                bad.append(f"{m} ({src}) imports {t} ({dst})")
    return sorted(bad)


def find_cycle(edges):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state:
                cycle = visit(t)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(edges):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def test_every_package_is_in_the_order():
    top = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    top |= {p.stem for p in SRC.glob("_*.py") if p.stem != "__init__" and p.stem != "__main__"}
    top |= {p.stem for p in SRC.glob("*.py") if not p.stem.startswith("_")}
    assert top <= set(ORDER), f"modules outside the layout: {sorted(top - set(ORDER))}"


def test_dependencies_point_one_way():
    assert layer_violations(import_edges(modules())) == []


def test_cells_know_nothing_of_training_pictures_files_or_the_cli():
    edges = import_edges(modules())
    for m, targets in edges.items():
        if package_of(m) in ("nn", "cells"):
            assert {package_of(t) for t in targets} <= {"_validate", "nn", "cells"}, (m, targets)


def test_no_import_cycles():
    assert find_cycle(import_edges(modules())) is None


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_size_budget(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines; split it by concept"


# -- the checks themselves can fail ------------------------------------------------------------
def _tree(tmp_path, files):
    root = tmp_path / "bptt"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "cells/__init__.py": "",
        "cells/model.py": "def trace():\n    from ..viz import draw\n",     # upward, inside a function
        "viz/__init__.py": "draw = None\n",
        "io/__init__.py": "",
        "io/a.py": "from .b import x\n",
        "io/b.py": "from . import a\nx = 1\n",
    })
    edges = import_edges(modules(root))
    assert layer_violations(edges) == ["bptt.cells.model (cells) imports bptt.viz (viz)"]
    cycle = find_cycle(edges)
    assert cycle is not None and set(cycle) == {"bptt.io.a", "bptt.io.b"}
