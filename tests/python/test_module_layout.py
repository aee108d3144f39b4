"""The PyTorch side's modules import each other without cycles (tracing, graph files, the zoo and
the command lines each in their own module), so that no module needs a re-import workaround."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "python" / "tensorplan"


def _imports(path):
    """The package modules a module imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:
                names.update(alias.name for alias in node.names)
            elif node.level == 1:
                names.add(node.module.split(".")[0])
            elif node.module and node.module.startswith("tensorplan."):
                names.add(node.module.split(".")[1])
            elif node.module == "tensorplan":
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tensorplan."):
                    names.add(alias.name.split(".")[1])
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    return (names & modules) - {path.stem}


def test_the_package_imports_form_no_cycle():
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    state = {}

    def visit(module, path):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import cycle: " + " -> ".join(path + [module])
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            visit(other, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_tracing_imports_neither_the_zoo_nor_the_command_lines():
    assert not _imports(PACKAGE / "trace.py") & {"export", "zoo", "cli", "optimize"}
    assert "export" not in _imports(PACKAGE / "zoo.py")
