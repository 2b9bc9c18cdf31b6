"""The suite's shared fixtures are defined once, in ``tests/conftest.py``: a fixture imported into a test
module is a second definition (pytest makes one per module, so a session-scoped browser would start once per
module), and the import needs a ``noqa`` to survive the linter. Read from the modules' syntax trees."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _fixtures(tree: ast.Module) -> set[str]:
    """The names of the functions ``tree`` decorates with ``pytest.fixture`` (called or not)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr == "fixture":
                    names.add(node.name)
    return names


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_browser_fixtures_are_defined_in_conftest_only() -> None:
    assert {"browser", "page", "console_errors"} <= _fixtures(_tree(TESTS / "conftest.py"))
    assert not _fixtures(_tree(TESTS / "browser.py")), "tests/browser.py holds helpers, not fixtures"


def test_no_test_module_imports_a_fixture() -> None:
    """No helper module of the test package defines a fixture a test module imports (test_tiers imports
    conftest's fixtures as functions, to classify them, not to use them)."""
    helpers = {path.stem: _fixtures(_tree(path)) for path in TESTS.glob("*.py") if path.stem != "conftest"}
    imported = []
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module in helpers:
                imported += [
                    f"{path.name}: {alias.name} from .{node.module}"
                    for alias in node.names
                    if alias.name in helpers[node.module]
                ]
    assert not imported, "fixtures imported into test modules:\n" + "\n".join(imported)


def test_every_file_put_first_is_a_test_file_of_the_suite() -> None:
    """A renamed or removed file would silently drop out of the order ``conftest.LONGEST_FIRST`` sets."""
    from .conftest import LONGEST_FIRST

    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    assert [name for name in LONGEST_FIRST if not (TESTS / name).is_file()] == []
