"""The house rules that a linter cannot state: no import circle anywhere, small modules.

The dependency rule itself (layers and gis import nothing of ours, services know neither
the web nor the CLI, webmap imports no api) is checked by import-linter in ``make lint``
with the contracts in pyproject.toml; this test runs the same contracts so ``make test``
fails on a broken rule too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("safemap.api", "safemap.gis", "safemap.layers", "safemap.webmap")
FOLDERS = ("api", "gis", "layers", "webmap")
#: A module this long must say in its docstring why it is not split.
MAX_LINES = 500
REASON = "longer than 500 lines"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def test_no_import_circle(graph: grimp.ImportGraph) -> None:
    g = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            # A package importing its own submodules (re-exports in __init__) is not a circle.
            if not imported.startswith(module + "."):
                g.add_edge(module, imported)
    circles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert circles == [], f"import circles: {circles}"


def test_import_contracts_hold() -> None:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run(
        [sys.executable, "-c", code, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def _python_files() -> list[Path]:
    return [p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "node_modules" not in p.parts]


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable_in_one_sitting(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines <= MAX_LINES:
        return
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert REASON in doc.lower(), f"{path.name} has {lines} lines and no reason in its docstring"
