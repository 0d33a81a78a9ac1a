"""The package's import graph: no module imports itself through others (a cycle), and the overlay
(mesh/) and the shared helpers stand below everything else."""

import ast
import os

from twisted.trial.unittest import TestCase

import nostrp2p

ROOT = os.path.dirname(nostrp2p.__file__)


def _modules() -> dict[str, str]:
    """Module name -> file, for every module of the package."""
    found = {}
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, os.path.dirname(ROOT))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def _imports(module: str, path: str, modules) -> set[str]:
    """The package's modules that ``module`` names in an import statement."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            named.update(submodules & set(modules))
            if not submodules <= set(modules):  # names defined in the module itself
                named.add(base)
    return {name for name in named if name in modules and name != module}


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}  # module -> 1 while on the path, 2 when done
    path = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


class ImportGraphTests(TestCase):
    def test_no_module_imports_itself_through_others(self):
        graph = _graph()
        self.assertIn("nostrp2p.mesh.messages", graph["nostrp2p.mesh.links"])  # the walk sees imports
        self.assertIsNone(_cycle(graph))

    def test_a_cycle_is_found(self):
        self.assertEqual(_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])

    def test_the_overlay_and_the_shared_helpers_import_nothing_above_them(self):
        for module, imported in _graph().items():
            if module.startswith("nostrp2p.mesh") or module == "nostrp2p.bounded":
                above = {i for i in imported if i.startswith(("nostrp2p.node", "nostrp2p.nostr",
                                                               "nostrp2p.api", "nostrp2p.store"))}
                self.assertEqual(above, set(), module)
