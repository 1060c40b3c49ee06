"""The module rules of README « Pour les développeurs », checked on the source itself.

- nio is imported by bot/matrix.py only;
- nothing under handlers/ imports bot/processor.py, not even for typing;
- bot/ never imports handlers/ (bot/app.py, the composition root, excepted);
- no import cycle in bot/, handlers/ or digests/ (imports under `if TYPE_CHECKING:` do
  not count; imports inside functions do);
- digests/ (the letter's and the bilan's pipelines) never imports nio, handlers/ nor a
  SQLite driver: its SQL lives in bot/storage/, it reaches Matrix through the outbox;
- no SQL uses numbered placeholders (`?NNN`): with a sequence of parameters, Python 3.12
  warns and 3.14 refuses them (`:name` with a mapping says the same, everywhere).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "digests")
NOT_IN_DIGESTS = frozenset({"nio", "handlers", "aiosqlite", "sqlite3"})
"""digests/ reaches Matrix through the outbox and the database through bot/storage/."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, typing_too: bool) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import, skipping TYPE_CHECKING blocks unless asked."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not typing_too:
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, []) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, [alias.name for alias in child.names]))
            visit(child)

    visit(tree)
    return found


def _targets(module: str, names: list[str], known: dict[str, Path]) -> set[str]:
    """The project modules an import statement loads (`from a import b` may load a.b)."""
    targets = {f"{module}.{name}" for name in names if f"{module}.{name}" in known}
    if module in known and len(targets) < len(names):
        targets.add(module)
    if not names and module in known:
        targets.add(module)
    return targets


def _graph(*, typing_too: bool = False) -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for module, names in _imports(tree, typing_too=typing_too):
            edges |= _targets(module, names, known)
        graph[name] = edges - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycle_in_bot_handlers_or_digests() -> None:
    assert _cycles(_graph()) == []


def test_only_the_matrix_adapter_imports_nio() -> None:
    importers = {
        name
        for name, path in _modules().items()
        for module, _ in _imports(ast.parse(path.read_text(encoding="utf-8")), typing_too=True)
        if module == "nio" or module.startswith("nio.")
    }
    assert importers == {"bot.matrix"}


def test_handlers_never_import_the_processor() -> None:
    graph = _graph(typing_too=True)
    offenders = {name for name, edges in graph.items() if name.startswith("handlers")}
    assert {name for name in offenders if "bot.processor" in graph[name]} == set()


def test_the_engine_does_not_import_features() -> None:
    graph = _graph(typing_too=True)
    engine = {name for name in graph if name.startswith("bot") and name != "bot.app"}
    assert {
        name for name in engine if any(target.startswith("handlers") for target in graph[name])
    } == set()


def test_digests_never_import_nio_handlers_or_sqlite() -> None:
    found = {
        (name, module.partition(".")[0])
        for name, path in _modules().items()
        if name.startswith("digests")
        for module, _ in _imports(ast.parse(path.read_text(encoding="utf-8")), typing_too=True)
        if module.partition(".")[0] in NOT_IN_DIGESTS
    }
    assert found == set()


NUMBERED_PLACEHOLDER = re.compile(r"\?\d")
CODE = ("bot", "handlers", "digests", "bench", "devtools", "tests")


def test_no_sql_uses_numbered_placeholders() -> None:
    """Scanned as text, comments and docstrings included (they write `?NNN`): a regular
    expression over the files, not a parse of each, costs nothing under coverage."""
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        for package in CODE
        for path in sorted((ROOT / package).rglob("*.py"))
        if "node_modules" not in path.parts
        for text in [path.read_text(encoding="utf-8")]
        for match in NUMBERED_PLACEHOLDER.finditer(text)
    ]
    assert found == []
