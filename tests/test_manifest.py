"""The firmware manifest covers every module main.py imports, transitively."""

from __future__ import annotations

from pathlib import Path

from heavylegs.deploy import manifest
from heavylegs.paths import MAIN_PY


def test_manifest_covers_everything_main_py_imports():
    modules, problems = manifest.imported_modules()
    assert problems == []
    assert manifest.missing_imports() == []
    # The walk really follows imports: these are reached only through app.py.
    assert {
        "heavylegs_pod.app",
        "heavylegs_pod.hal.board",
        "heavylegs_pod.hal.lsm6ds",
        "heavylegs_pod.hal.radio",
        "heavylegs_pod.wire",
    } <= modules
    assert modules <= manifest.shipped_modules()


def test_the_cpython_shim_never_goes_onto_a_pod():
    assert "heavylegs_pod._cpython_shim" not in manifest.shipped_modules()
    # heavylegs_pod/__init__.py imports it, but only under a CPython guard.
    modules, _ = manifest.imported_modules()
    assert "heavylegs_pod._cpython_shim" not in modules


def test_a_main_py_the_manifest_does_not_cover_is_reported(tmp_path: Path):
    main = tmp_path / "main.py"
    main.write_text(
        "import heavylegs_pod.hal.board\n"
        "import aioble\n"
        "from heavylegs_pod import _cpython_shim\n"
        "from heavylegs_pod.nowhere import thing\n"
        "try:\n"
        "    import optional_thing\n"
        "except ImportError:\n"
        "    optional_thing = None\n"
    )
    problems = manifest.missing_imports(main)
    text = "\n".join(problems)
    assert "aioble, which is neither in the firmware package nor built into MicroPython" in text
    assert "heavylegs_pod._cpython_shim, which is host-only" in text
    assert "heavylegs_pod.nowhere, which does not exist" in text
    assert "optional_thing" not in text
    assert len(problems) == 3


def test_firmware_files_are_compiled_modules_and_main_py_last(tmp_path: Path):
    files = manifest.firmware_files("armv6m", tmp_path)
    paths = [f.pod_path for f in files]
    assert paths[-1] == "main.py"
    assert files[-1].data == MAIN_PY.read_bytes()
    modules = paths[:-1]
    assert all(p.startswith("heavylegs_pod/") and p.endswith(".mpy") for p in modules)
    assert all(f.data[:2] == b"M\x06" for f in files[:-1])
    shipped = {p[: -len(".mpy")].replace("/", ".").removesuffix(".__init__") for p in modules}
    assert shipped == manifest.shipped_modules()
