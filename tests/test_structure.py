"""The package's shape: imports flow one way (no cycle), modules and functions stay small."""

import ast
from pathlib import Path

import neuralsde

PACKAGE = Path(neuralsde.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Justified exceptions, each explained in its module's docstring: "module" or "module:function".
ALLOWED = {
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """Package modules that ``name`` imports anywhere in its file (lazy imports included)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from pkg import sub" imports the submodule when there is one, else pkg itself
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # "a.b.c" where c is a name: a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # importing a submodule runs its parent packages' __init__ first: not an edge of ours
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_cycle_detector_sees_a_lazy_import(tmp_path):
    modules = {"p": tmp_path / "__init__.py", "p.a": tmp_path / "a.py", "p.b": tmp_path / "b.py"}
    modules["p.a"].write_text("from .b import x\n")
    modules["p.b"].write_text("def f():\n    from . import a\n")
    assert _imports("p.a", modules["p.a"], modules) == {"p.b"}
    assert _imports("p.b", modules["p.b"], modules) == {"p.a"}


def test_modules_and_functions_are_small():
    too_long = []
    for name, path in _modules().items():
        text = path.read_text()
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES and name not in ALLOWED:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES and f"{name}:{node.name}" not in ALLOWED:
                    too_long.append(f"{name}:{node.name}: {n} lines")
    assert not too_long, "over the size limits: " + "; ".join(too_long)


def test_exceptions_are_explained():
    modules = _modules()
    for key, reason in ALLOWED.items():
        module = key.split(":")[0]
        assert module in modules, key
        assert reason and reason in (ast.get_docstring(ast.parse(modules[module].read_text()))
                                     or ""), f"{key}: its module docstring must say why"
