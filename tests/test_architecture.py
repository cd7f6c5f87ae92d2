"""The layers' one direction of dependencies (docs/architecture.md), checked on the source.

The library `lmc/` imports nothing above it (`train/`, `dashboard/`), no module edits sys.path,
and the modules of `lmc` import each other without cycles, imports inside functions included.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "lmc"


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


def test_the_library_imports_nothing_above_it():
    offenders = {
        module_name(p): sorted(
            m for m in imported_modules(p) if m.split(".")[0] in ("train", "dashboard")
        )
        for p in LIBRARY.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


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
