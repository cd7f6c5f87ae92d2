"""The layers' one direction of dependencies (docs/architecture.md), checked on the source.

The document is the truth: its table names every module of `lmc` once, in one layer, and each
module imports only from its own layer or a lower one; the applications import as its drawing
shows; no module edits sys.path; the modules of `lmc` import each other without cycles. Imports
inside functions count.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "lmc"
DOC = ROOT / "docs" / "architecture.md"
# The drawing at the top of the document: which top-level folders each may import.
APPLICATIONS = {
    "lmc_cli": {"train", "dashboard", "lmc"},
    "train": {"lmc"},
    "dashboard": {"lmc"},
    "lmc": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (`from a import b` counts a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def library_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in LIBRARY.rglob("*.py")}
    return {name: {m for m in imported_modules(p) if m in files} for name, p in files.items()}


LAYER_ROW = re.compile(r"^\| (\d+)\. [^|]+\| ([^|]+) \|", re.MULTILINE)
PACKAGE = re.compile(r"`(\w+)/`(?: \(([^)]*)\))?")
NAME = re.compile(r"`([\w.]+)`")


def documented_layers(text: str) -> dict[str, list[int]]:
    """{module: the layers the table names it in} from the layer table of the document: a
    package `p/` stands for lmc.p (its __init__) and the modules in its brackets, `__init__` for
    lmc itself, a dotted name for that module."""
    found: dict[str, list[int]] = {}
    for number, cell in LAYER_ROW.findall(text):
        names = []
        for package, members in PACKAGE.findall(cell):
            names.append(package)
            names += [f"{package}.{m}" for m in NAME.findall(members)]
        names += NAME.findall(PACKAGE.sub("", cell))
        for name in names:
            module = "lmc" if name == "__init__" else f"lmc.{name}"
            found.setdefault(module, []).append(int(number))
    return found


def test_the_document_names_every_module_once():
    layers = documented_layers(DOC.read_text())
    modules = set(library_graph())
    assert {n for found in layers.values() for n in found} == set(range(1, 8))
    assert sorted(modules - set(layers)) == [], "add them to docs/architecture.md's layer table"
    assert sorted(set(layers) - modules) == [], "named in docs/architecture.md but not in lmc/"
    assert {m: n for m, n in layers.items() if len(n) > 1} == {}


def test_the_document_parse_reads_packages_modules_and_the_root():
    text = (
        "| 1. a | `errors`, `nn/` (`memory`, `fusion`), `__init__` | x |\n"
        "| 2. b | `training.state`, `data/` | y |\n"
    )
    assert documented_layers(text) == {
        "lmc.errors": [1],
        "lmc.nn": [1],
        "lmc.nn.memory": [1],
        "lmc.nn.fusion": [1],
        "lmc": [1],
        "lmc.training.state": [2],
        "lmc.data": [2],
    }


def test_each_library_module_imports_only_its_own_layer_or_below():
    layers = {m: n[0] for m, n in documented_layers(DOC.read_text()).items()}
    upward = {
        f"{name} ({layers[name]})": sorted(
            f"{m} ({layers[m]})" for m in imports if layers.get(m, 0) > layers[name]
        )
        for name, imports in library_graph().items()
        if name in layers  # the test above names the modules the table lacks
    }
    assert {k: v for k, v in upward.items() if v} == {}


def test_the_applications_import_as_the_drawing_shows():
    drawing = DOC.read_text().split("```")[1]
    heads = [a or b for a, b in re.findall(r"^ (\w+)|\+--> (\w+)", drawing, re.MULTILINE)]
    assert heads == list(APPLICATIONS)
    offenders = {}
    for folder, allowed in APPLICATIONS.items():
        for path in (ROOT / folder).rglob("*.py"):
            tops = {m.split(".")[0] for m in imported_modules(path)} & set(APPLICATIONS)
            if tops - allowed - {folder}:
                offenders[str(path.relative_to(ROOT))] = sorted(tops - allowed - {folder})
    assert offenders == {}


SYS_PATH_EDIT = re.compile(
    r"sys\.path\.(insert|append|extend|remove)\(|sys\.path\s*(\[.*\])?\s*\+?="
)


def test_no_module_edits_sys_path():
    edits = [
        str(p.relative_to(ROOT))
        for folder in ("lmc", "lmc_cli", "train", "dashboard", "tests")
        for p in (ROOT / folder).rglob("*.py")
        if SYS_PATH_EDIT.search(p.read_text())
    ]
    assert edits == []


def test_library_modules_import_each_other_without_cycles():
    graph = library_graph()
    # A package's __init__ runs before its submodules: importing lmc.a.b depends on lmc.a.
    for name in list(graph):
        graph[name] = {m for m in graph[name] if m != name}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []
