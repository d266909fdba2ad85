"""The package's layering, read from its source with ast.

Imports only point down (a module may import its own layer or a lower one), no modules
import each other round a loop, an import sits at the top of its file unless a comment
on its line says which start-up deferring it spares, and no module is over 400 lines.
Each failure is one line naming the file, the line and what it imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "portal_config"
MAX_LINES = 400

# Low to high, after the root leaves: a module may import from its own layer or lower.
LAYERS = ("settings", "lint", "project", "plan", "live", "files", "sandbox", "run", "render")
CLI = "cli"  # the top: the cli module (or package) and `python -m`
ROOT_LEAVES = frozenset(
    {
        "__init__",
        "_version",
        "errors",
        "escaping",
        "file_access",
        "paths",
        "problems",
        "storage",
        "text",
    }
)
ROOT_TOP = frozenset({"cli", "__main__"})
REASON = "start-up"  # what a deferred import's comment must mention

# Files other owners of issue 16 are still rewriting, with what is left in them; the checks
# below pass for every other file. Empty: every file holds to the layering.
PENDING: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # "portal_config.lint.check"
    imported: str  # a module of ours, or "" for one outside the package
    where: str  # "portal_config/lint/check.py:21"
    deferred: bool  # inside a function
    comment: str  # the comments on the statement's lines


class Package:
    """One package's modules, their imports and their sizes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = root.name
        self.modules = {self._module(path): path for path in sorted(root.rglob("*.py"))}

    def _module(self, path: Path) -> str:
        parts = path.relative_to(self.root).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        return ".".join((self.name, *parts))

    def shown(self, path: Path) -> str:
        return str(path.relative_to(self.root.parent))

    def layer(self, module: str) -> int | None:
        """0 for a root leaf, then 1, 2 ... up the layers; None for a module in none."""
        parts = module.split(".")[1:]
        if not parts or (len(parts) == 1 and parts[0] in ROOT_LEAVES):
            return 0
        head = CLI if parts[0] in ROOT_TOP else parts[0]
        order = (*LAYERS, CLI)
        return order.index(head) + 1 if head in order else None

    def imports(self) -> Iterator[Import]:
        for module, path in self.modules.items():
            yield from self._imports(module, path)

    def _imports(self, module: str, path: Path) -> Iterator[Import]:
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        nested = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for inner in ast.walk(node)
            if inner is not node
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if self._ours(alias.name)]
            elif isinstance(node, ast.ImportFrom):
                names = self._from(module, path, node)
            else:
                continue
            span = lines[node.lineno - 1 : node.end_lineno or node.lineno]
            comment = " ".join(line.split("#", 1)[1] for line in span if "#" in line)
            where = f"{self.shown(path)}:{node.lineno}"
            for name in names or [""]:
                yield Import(module, name, where, id(node) in nested, comment)

    def _ours(self, name: str) -> bool:
        return name == self.name or name.startswith(self.name + ".")

    def _from(self, module: str, path: Path, node: ast.ImportFrom) -> list[str]:
        """The modules of ours an ImportFrom names: a submodule by its own name."""
        base = node.module or ""
        if node.level:
            package = module.split(".")[: len(module.split(".")) - (path.name != "__init__.py")]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        if not self._ours(base):
            return []
        found = [f"{base}.{alias.name}" for alias in node.names]
        return [name for name in found if name in self.modules] or [base]

    def upward_imports(self) -> list[str]:
        found = []
        settings = LAYERS.index("settings") + 1
        for item in self.imports():
            if not item.imported:
                continue
            low, high = self.layer(item.importer), self.layer(item.imported)
            if low is None:
                found.append(f"{item.where}: {item.importer} is in no layer")
            elif high is not None and high > low:
                found.append(
                    f"{item.where}: {item.importer} ({_layer_name(low)}) imports "
                    f"{item.imported} ({_layer_name(high)}), a higher layer"
                )
            elif low == settings and high != settings:
                found.append(
                    f"{item.where}: {item.importer} imports {item.imported}: settings/ "
                    "imports nothing else of ours"
                )
        return sorted(set(found))

    def cycles(self) -> list[str]:
        graph: dict[str, set[str]] = {name: set() for name in self.modules}
        for item in self.imports():
            if item.imported in graph and item.imported != item.importer:
                graph[item.importer].add(item.imported)
        return sorted(
            "import cycle: " + " -> ".join(component)
            for component in _strongly_connected(graph)
            if len(component) > 1
        )

    def deferred_imports(self) -> list[str]:
        return sorted(
            f"{item.where}: {item.importer} imports {item.imported or 'a module'} inside a "
            f"function, without a comment saying which {REASON} deferring it spares"
            for item in self.imports()
            if item.deferred and REASON not in item.comment
        )

    def long_modules(self) -> list[str]:
        found = []
        for path in self.modules.values():
            count = len(path.read_text(encoding="utf-8").splitlines())
            if count > MAX_LINES:
                found.append(f"{self.shown(path)}: {count} lines, over {MAX_LINES}")
        return sorted(found)


def _layer_name(level: int) -> str:
    return "a root leaf" if level == 0 else f"{(*LAYERS, CLI)[level - 1]}/"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, iteratively; a component of two or more modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    found.append(sorted(component))
    return found


def _settled(lines: list[str]) -> list[str]:
    """The lines about files no other owner is still rewriting (a cycle: any of its files)."""
    kept = []
    for line in lines:
        if line.startswith("import cycle: "):
            files = [
                name.replace(".", "/") + ".py" for name in line.split(": ", 1)[1].split(" -> ")
            ]
        else:
            files = [line.split(":", 1)[0]]
        if not any(f.startswith(f"{PACKAGE.name}/{pending}") for f in files for pending in PENDING):
            kept.append(line)
    return kept


PACKAGE_TREE = Package(PACKAGE)
CHECKS = {
    "upward imports": PACKAGE_TREE.upward_imports,
    "import cycles": PACKAGE_TREE.cycles,
    "deferred imports": PACKAGE_TREE.deferred_imports,
    "long modules": PACKAGE_TREE.long_modules,
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_layering_holds_outside_the_files_still_being_rewritten(check: str) -> None:
    assert _settled(CHECKS[check]()) == []


@pytest.mark.parametrize("check", list(CHECKS))
def test_layering_holds_everywhere(check: str) -> None:
    assert CHECKS[check]() == []


def test_every_module_is_in_a_layer() -> None:
    assert [name for name in PACKAGE_TREE.modules if PACKAGE_TREE.layer(name) is None] == []


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_checks_find_each_kind_of_mistake(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    _write(root, "__init__.py", "")
    _write(root, "errors.py", "from pkg.lint import check\n")
    _write(root, "settings/__init__.py", "")
    _write(root, "settings/model.py", "from pkg import errors\n")
    _write(root, "lint/__init__.py", "")
    _write(root, "lint/check.py", "from . import schema\nfrom pkg.project.config import X\n")
    _write(root, "lint/schema.py", "import json\n\ndef f():\n    from pkg.lint import check\n")
    _write(
        root,
        "lint/fast.py",
        "def g():\n    import pickle  # start-up: only forked runs\n    import gc\n",
    )
    _write(root, "project/config.py", "X = 1\n" + "\n" * MAX_LINES)
    _write(root, "odd.py", "")
    tree = Package(root)
    assert tree.upward_imports() == [
        "pkg/errors.py:1: pkg.errors (a root leaf) imports pkg.lint.check (lint/), a higher layer",
        "pkg/lint/check.py:2: pkg.lint.check (lint/) imports pkg.project.config (project/), "
        "a higher layer",
        "pkg/settings/model.py:1: pkg.settings.model imports pkg.errors: settings/ imports "
        "nothing else of ours",
    ]
    assert tree.cycles() == [
        "import cycle: pkg.lint.check -> pkg.lint.schema",
    ]
    assert tree.deferred_imports() == [
        "pkg/lint/fast.py:3: pkg.lint.fast imports a module inside a function, without a "
        "comment saying which start-up deferring it spares",
        "pkg/lint/schema.py:4: pkg.lint.schema imports pkg.lint.check inside a function, "
        "without a comment saying which start-up deferring it spares",
    ]
    assert tree.long_modules() == [f"pkg/project/config.py: {MAX_LINES + 1} lines, over 400"]
    assert tree.layer("pkg.odd") is None


def test_the_config_value_imports_only_root_leaves() -> None:
    # Lint, plans and the live side all take a Config: reading it is config_reader's.
    config = f"{PACKAGE.name}.project.config"
    assert [
        f"{item.where}: {item.imported}"
        for item in PACKAGE_TREE.imports()
        if item.importer == config and item.imported and PACKAGE_TREE.layer(item.imported) != 0
    ] == []
