"""The firmware manifest: exactly which files `heavylegs flash` puts on a pod.

main.py goes as source (a board runs main.py, not main.mpy); every module of the
heavylegs_pod package goes as .mpy compiled for the board's arch; the host-only
CPython shim stays behind. `missing_imports()` walks what main.py imports,
module by module, and reports anything the pod would fail to import: a module
left out of the package, a host-only module, or a library no MicroPython port
we support has built in.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from heavylegs.deploy.build import HOST_ONLY, compile_firmware, firmware_modules
from heavylegs.paths import FIRMWARE_DIR, MAIN_PY

PACKAGE = "heavylegs_pod"
# Modules built into (or frozen into) the MicroPython firmware of every board in
# hardware/boards/ (ESP32_GENERIC_S3 and ARDUINO_NANO_RP2040_CONNECT builds).
MICROPYTHON_BUILTINS = frozenset(
    {
        "array",
        "asyncio",
        "binascii",
        "bluetooth",
        "builtins",
        "collections",
        "deflate",
        "errno",
        "gc",
        "hashlib",
        "heapq",
        "io",
        "json",
        "machine",
        "math",
        "micropython",
        "neopixel",
        "os",
        "platform",
        "random",
        "re",
        "select",
        "struct",
        "sys",
        "time",
        "uctypes",
        "vfs",
    }
)


@dataclass(frozen=True)
class PodFile:
    pod_path: str  # relative to the pod's filesystem root, "/"-separated
    data: bytes


def shipped_modules() -> set[str]:
    """Dotted names of the firmware modules that go onto the pod."""
    names = set()
    for source in firmware_modules():
        parts = list(source.relative_to(FIRMWARE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.add(".".join(parts))
    return names


def firmware_files(arch: str, build_dir: Path, reuse: bool = False) -> list[PodFile]:
    """Compile for `arch` under build_dir; main.py last, so it is written last."""
    files = []
    out_root = build_dir / arch
    for mpy in compile_firmware(arch, build_dir, reuse):
        files.append(PodFile(mpy.relative_to(out_root).as_posix(), mpy.read_bytes()))
    files.sort(key=lambda f: f.pod_path)
    files.append(PodFile("main.py", MAIN_PY.read_bytes()))
    return files


def _module_file(name: str) -> Path | None:
    base = FIRMWARE_DIR.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _is_cpython_guard(test: ast.expr) -> bool | None:
    """True for `sys.implementation.name != "micropython"`, False for `==`, else None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, right = test.left, test.comparators[0]
    if not (
        isinstance(left, ast.Attribute)
        and left.attr == "name"
        and isinstance(left.value, ast.Attribute)
        and left.value.attr == "implementation"
        and isinstance(right, ast.Constant)
        and right.value == "micropython"
    ):
        return None
    if isinstance(test.ops[0], ast.NotEq):
        return True
    if isinstance(test.ops[0], ast.Eq):
        return False
    return None


def _catches_import_error(handlers: list[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for name in names:
            if isinstance(name, ast.Name) and name.id in ("ImportError", "Exception"):
                return True
    return False


def _imports(tree: ast.AST, module: str) -> list[tuple[str, bool]]:
    """(imported name, required) pairs, skipping code that only CPython runs."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, required: bool) -> None:
        child: ast.AST
        if isinstance(node, ast.If):
            guard = _is_cpython_guard(node.test)
            for child in node.body if guard is not True else []:
                visit(child, required)
            for child in node.orelse if guard is not False else []:
                visit(child, required)
            return
        if isinstance(node, ast.Try):
            optional = _catches_import_error(node.handlers)
            for child in node.body:
                visit(child, required and not optional)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, required)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, required) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level] if module else []
                base = ".".join([*package, base] if base else package)
            found.append((base, required))
            # `from pkg import name` imports pkg.name when that is a module.
            for alias in node.names:
                if _module_file(f"{base}.{alias.name}") is not None:
                    found.append((f"{base}.{alias.name}", required))
        for child in ast.iter_child_nodes(node):
            visit(child, required)

    visit(tree, True)
    return found


def imported_modules(main_py: Path = MAIN_PY) -> tuple[set[str], list[str]]:
    """Every firmware module main.py imports, transitively, and the problems found."""
    seen: set[str] = set()
    problems: list[str] = []
    queue: list[tuple[str, Path]] = [("__main__", main_py)]
    while queue:
        module, path = queue.pop()
        tree = ast.parse(path.read_text(), str(path))
        who = path.name if module == "__main__" else module
        for name, required in _imports(tree, "" if module == "__main__" else module):
            parts = name.split(".")
            # Importing a.b.c runs a and a.b first.
            for depth in range(1, len(parts) + 1):
                dotted = ".".join(parts[:depth])
                if dotted in seen:
                    continue
                if parts[0] != PACKAGE:
                    if parts[0] not in MICROPYTHON_BUILTINS and required:
                        problems.append(
                            f"{who} imports {dotted}, which is neither in the "
                            f"firmware package nor built into MicroPython"
                        )
                    seen.add(dotted)
                    break
                source = _module_file(dotted)
                seen.add(dotted)
                if source is None:
                    if required:
                        problems.append(f"{who} imports {dotted}, which does not exist")
                    break
                if source.name not in HOST_ONLY:  # reported below; its imports never run
                    queue.append((dotted, source))
    return {m for m in seen if m.split(".")[0] == PACKAGE}, problems


def missing_imports(main_py: Path = MAIN_PY) -> list[str]:
    """Why the flashed tree would fail to import; empty when the manifest covers main.py."""
    modules, problems = imported_modules(main_py)
    shipped = shipped_modules()
    for name in sorted(modules - shipped):
        source = _module_file(name)
        if source is None:
            continue  # reported above: it does not exist
        reason = (
            "is host-only and never goes onto a pod"
            if source.name in HOST_ONLY
            else "is not in the firmware manifest"
        )
        problems.append(f"main.py needs {name}, which {reason}")
    return problems
