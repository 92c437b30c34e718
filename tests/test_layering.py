"""The package's layers only import downwards: core < services < front ends.

core (domain, contracts, profiles, storage, config) < orchestration, serving, observation, quality (services,
which may import each other) < simulation < experiments < cli, api, demo, examples. Every `import` and
`from ... import` in src/rohe is read with `ast`, including the ones inside functions: a lazy import is still a
dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rohe"
LAYERS = {
    "core": 0,
    "orchestration": 1,
    "serving": 1,
    "observation": 1,
    "quality": 1,
    "edge": 1,  # a site's cache and uplink, used by the gateway and agents beside the services
    # Capabilities built on the services: the simulator runs their real code, experiments drive the simulator.
    "simulation": 2,
    "experiments": 3,
    "control": 3,  # acts through the services, asks the simulator what a remedy would do
    "cli": 4,
    "api": 4,
    "demo": 4,
    "examples": 4,
    "ui": 4,
}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "rohe" and parts[1] in LAYERS else None


def _imported_modules(tree: ast.AST, this: str, is_package: bool) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = this.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names if not node.module)
    return found


def upward_imports(src: Path = SRC) -> list[str]:
    """`path:line: rohe.<low> imports rohe.<high>` for every import from a lower layer to a higher one."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src.parent).with_suffix("")
        is_package = relative.name == "__init__"
        module = ".".join(relative.parts[:-1] if is_package else relative.parts)
        own = _package(module)
        if own is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, imported in _imported_modules(tree, module, is_package):
            target = _package(imported)
            if target is not None and LAYERS[target] > LAYERS[own]:
                bad.append(f"{path.relative_to(src.parent)}:{line}: rohe.{own} imports {imported}")
    return bad


def test_no_module_imports_a_higher_layer() -> None:
    assert (SRC / "core" / "__init__.py").is_file(), f"{SRC} is not rohe's source: the check would pass vacuously"
    assert upward_imports() == []


def test_every_top_level_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"give these packages a layer: {sorted(packages - set(LAYERS))}"


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("core/x.py", "from rohe.orchestration.rohe_format import f\n", "rohe.core imports rohe.orchestration"),
        ("serving/x.py", "def f():\n    from rohe.examples import w\n", "rohe.serving imports rohe.examples"),
        ("serving/x.py", "import rohe.cli.errors\n", "rohe.serving imports rohe.cli.errors"),
        ("serving/a/x.py", "from ...api import security\n", "rohe.serving imports rohe.api"),
    ],
)
def test_the_check_catches_upward_imports(tmp_path: Path, where: str, source: str, expected: str) -> None:
    root = tmp_path / "rohe"
    target = root / where
    target.parent.mkdir(parents=True)
    target.write_text(source)
    (found,) = upward_imports(root)
    assert expected in found


def test_downward_and_sideways_imports_pass(tmp_path: Path) -> None:
    root = tmp_path / "rohe"
    (root / "serving").mkdir(parents=True)
    (root / "serving" / "x.py").write_text("from rohe.core import errors\nfrom rohe.observation import y\n")
    (root / "cli").mkdir()
    (root / "cli" / "x.py").write_text("from rohe.serving import x\nfrom rohe.examples import z\n")
    assert upward_imports(root) == []
