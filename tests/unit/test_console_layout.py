"""The console's layout: feature folders never import each other in a circle, and shared
modules (``app/console/*.py``) never reach into a feature that others build on.

The imports are read from the source (every ``import`` and ``from … import``, including
those inside functions, which hide a cycle from Python but not from a reader)."""

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "app" / "console"
# The app assembles every feature; it is the one shared module allowed to import them.
ASSEMBLY = {"app"}
# Features that shared modules may build on: the signed-in session and the live hub are
# the console's own plumbing, kept in their folders beside their routes.
FOUNDATIONS = {"auth", "live"}


def _features() -> set[str]:
    return {p.name for p in CONSOLE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _imported_modules(source: str) -> Iterable[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _console_imports() -> dict[str, set[str]]:
    """``{importer: {feature imported}}`` where an importer is a feature folder or a shared
    module's name."""
    features = _features()
    found: dict[str, set[str]] = {}
    for path in CONSOLE.rglob("*.py"):
        parts = path.relative_to(CONSOLE).with_suffix("").parts
        importer = parts[0]
        for module in _imported_modules(path.read_text(encoding="utf-8")):
            names = module.split(".")
            if names[:2] == ["app", "console"] and len(names) > 2 and names[2] in features:
                if names[2] != importer:
                    found.setdefault(importer, set()).add(names[2])
    return found


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``edges`` as ``[a, b, …, a]``, or ``None`` when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_find_cycle_sees_a_cycle_and_its_absence() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"periods": ["reports"], "reports": ["periods"]}) == [
        "periods",
        "reports",
        "periods",
    ]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None


def test_the_import_reader_sees_imports_inside_functions() -> None:
    source = "def f():\n    from app.console.journals.views import x\n"
    assert "app.console.journals.views" in set(_imported_modules(source))


def test_feature_folders_import_each_other_without_a_cycle() -> None:
    features = _features()
    assert {"approvals", "journals", "standing", "periods", "reports", "teller"} <= features
    graph = {k: v for k, v in _console_imports().items() if k in features}
    assert find_cycle(graph) is None


def test_shared_modules_import_no_feature_but_the_foundations() -> None:
    features = _features()
    reaching = {
        module: sorted(imported - FOUNDATIONS)
        for module, imported in _console_imports().items()
        if module not in features and module not in ASSEMBLY and imported - FOUNDATIONS
    }
    assert reaching == {}


TEMPLATES = CONSOLE.parents[1] / "templates"
# Confirmations that are part of a bigger page rather than a page of their own: the period
# close and the year close sit under their checklists, the maker-checker switch inside the
# settings form. Every other "are you sure" is app/console/confirm.py's one template.
CONFIRM_TEMPLATE = "components/confirm.html"
CONFIRM_IN_PAGE = {"periods/checklist.html", "periods/close_year.html", "admin/settings.html"}


def test_every_are_you_sure_page_is_the_one_confirm_template():
    asking = {
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if "confirm__question" in path.read_text(encoding="utf-8")
    }
    assert asking == {CONFIRM_TEMPLATE, *CONFIRM_IN_PAGE}
