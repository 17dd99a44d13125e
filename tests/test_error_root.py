"""Every exception heavylegs defines derives from the one root, HeavylegsError,
so the CLI (and any caller) can catch every deliberate failure in one place."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from heavylegs.errors import HeavylegsError

HOST = Path(__file__).resolve().parent.parent / "host" / "heavylegs"
# MicroPython stand-ins, run by micropython, never imported by CPython.
MICROPYTHON_ONLY = ("sim/board/", "sim/testboard_pod/")
NOT_YET: set[str] = set()


def _host_modules() -> list[str]:
    names = []
    for path in sorted(HOST.rglob("*.py")):
        relative = path.relative_to(HOST).as_posix()
        if relative.startswith(MICROPYTHON_ONLY) or path.name == "__main__.py":
            continue
        parts = ["heavylegs", *Path(relative).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_every_exception_class_derives_from_the_root() -> None:
    stray = []
    seen = 0
    for name in _host_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or not issubclass(cls, BaseException):
                continue
            seen += 1
            qualified = f"{name}.{cls.__qualname__}"
            if not issubclass(cls, HeavylegsError) and qualified not in NOT_YET:
                stray.append(f"{qualified} ({', '.join(b.__name__ for b in cls.__bases__)})")
    assert seen > 20  # the walk found the exception classes at all
    assert not stray, stray
