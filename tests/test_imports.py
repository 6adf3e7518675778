"""The package's modules import one another without a cycle, function-local imports included.

Read from the source with `ast` (nothing is executed): a module imports another when it names it
in `import a.b` or `from a.b import c` (then `a.b.c` when that is a module, else `a.b`). A cycle
held together by imports inside functions still counts, because it is one all the same."""

import ast
import pathlib

PACKAGE = "keras_muxnet"
ROOT = pathlib.Path(__file__).resolve().parents[1] / PACKAGE


def module_names():
    names = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return names


def imports_of(path, modules):
    """The package modules `path` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in modules:
                    found.add(full)
                elif node.module in modules:
                    found.add(node.module)
    return found


def import_graph():
    modules = module_names()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph):
    """One cycle as a list of modules (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_builder_calls_down_into_the_weights_modules():
    graph = import_graph()
    assert "keras_muxnet.weights_request" in graph["keras_muxnet.models"]
    for low in ("weights_request", "weight_files", "imagenet_cache", "authors_weights",
                "conversion", "checkpoints"):
        assert "keras_muxnet.models" not in graph[f"keras_muxnet.{low}"], low


def test_the_cycle_finder_finds_a_cycle_through_function_local_imports(tmp_path):
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from keras_muxnet import b\n")
    b = tmp_path / "b.py"
    b.write_text("import keras_muxnet.a\n")
    modules = {"keras_muxnet.a": a, "keras_muxnet.b": b}
    graph = {name: imports_of(path, modules) for name, path in modules.items()}
    assert find_cycle(graph) == ["keras_muxnet.a", "keras_muxnet.b", "keras_muxnet.a"]
