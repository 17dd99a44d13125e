"""The host's layers do not leak: every import in host/ and firmware/ points down.

    cli -> {link, deploy, report, export, sim, reprocess} -> analysis -> store
        -> {errors, paths, trace} -> heavylegs_pod (the firmware)

The source is parsed, not imported, so an import inside a function (the CLI
loads the simulator lazily) or under TYPE_CHECKING counts the same as one at
the top. Inside one area (package) modules import each other freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST = ROOT / "host" / "heavylegs"
FIRMWARE = ROOT / "firmware" / "heavylegs_pod"

# Higher imports lower, never the other way, never sideways.
RANK = {
    "cli": 5,
    "link": 4,
    "deploy": 4,
    "report": 4,
    "export": 4,
    "sim": 4,
    "reprocess": 4,
    "watch": 4,
    "analysis": 3,
    "store": 2,
    "errors": 0,  # the root error: every layer may raise it
    "paths": 1,
    "trace": 1,
}
FIRMWARE_AREA = "heavylegs_pod"

# The one sideways arrow: a USB pull lands in the same ingest as a BLE sync
# (link.sync), and flashing provisions the owner key the link layer checks
# (link.keys). link never imports deploy.
SIDEWAYS = {("deploy", "link")}

# The trace file layout is a leaf module with no imports that the simulated board
# also loads inside MicroPython, so it lives in sim/board/; it belongs to the trace
# format's layer.
BOTTOM_MODULES = {"heavylegs.sim.board.trace_layout": "trace"}


def _module_name(path: Path) -> str:
    parts = ["heavylegs", *path.relative_to(HOST).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module an import statement in `path` names, absolute, with its line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from heavylegs import paths` names the module paths, not the package.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def _area(module: str) -> str | None:
    """The layer area of a first-party module, None for anything else."""
    for name, area in BOTTOM_MODULES.items():
        if module == name or module.startswith(name + "."):
            return area
    top, _, rest = module.partition(".")
    if top == FIRMWARE_AREA:
        return FIRMWARE_AREA
    if top != "heavylegs":
        return None
    return rest.partition(".")[0] or "heavylegs"


def _host_files() -> list[Path]:
    return sorted(HOST.rglob("*.py"))


def _violation(source: str, target: str) -> str | None:
    if target == FIRMWARE_AREA or source == target:
        return None
    if target == "heavylegs":
        return "imports the bare heavylegs package"
    if source not in RANK:
        return f"{source} has no layer: add it to RANK in tests/test_layers.py"
    if target not in RANK:
        return f"{target} has no layer: add it to RANK in tests/test_layers.py"
    if RANK[target] < RANK[source] or (source, target) in SIDEWAYS:
        return None
    return f"{source} (layer {RANK[source]}) may not import {target} (layer {RANK[target]})"


def test_every_host_import_points_down() -> None:
    problems = []
    for path in _host_files():
        module = _module_name(path)
        source = _area(module)
        assert source is not None
        for line, target_module in _imported(path, module):
            target = _area(target_module)
            if target is None:
                continue
            problem = _violation(source, target)
            if problem:
                where = path.relative_to(ROOT)
                problems.append(f"{where}:{line}: {target_module}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_firmware_imports_nothing_of_the_host() -> None:
    problems = []
    for path in sorted(FIRMWARE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            problems.extend(
                f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                for name in names
                if name.partition(".")[0] == "heavylegs"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("cli", "sim", True),
        ("sim", "link", False),
        ("link", "sim", False),
        ("analysis", "report", False),
        ("store", "analysis", False),
        ("report", "cli", False),
        ("deploy", "link", True),
        ("link", "deploy", False),
        ("sim", "store", True),
        ("paths", "errors", True),
        ("errors", "paths", False),
        ("evaluation", "store", False),
    ],
)
def test_the_rule_itself(source: str, target: str, allowed: bool) -> None:
    """The checker refuses what the arrows forbid (a check that cannot fail is no check)."""
    assert (_violation(source, target) is None) is allowed


def test_relative_and_package_imports_resolve(tmp_path: Path) -> None:
    """`from . import x`, `from ..y import z` and `from heavylegs import paths` are all seen."""
    sample = tmp_path / "pods.py"
    sample.write_text(
        "from . import clock\nfrom ..sim.radio import SimRadio\nfrom heavylegs import paths\n"
        "def later():\n    import heavylegs.cli\n"
    )
    found = [name for _line, name in _imported(sample, "heavylegs.link.pods")]
    assert found == [
        "heavylegs.link.clock",
        "heavylegs.sim.radio.SimRadio",
        "heavylegs.paths",
        "heavylegs.cli",
    ]
    assert [_area(name) for name in found] == ["link", "sim", "paths", "cli"]
