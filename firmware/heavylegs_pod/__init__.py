"""heavylegs pod firmware (MicroPython).

The gait engine and wire format are also imported by the host under CPython; there
the small `micropython` shim below stands in for the built-in module.
"""

import sys

if sys.implementation.name != "micropython":
    from heavylegs_pod import _cpython_shim  # noqa: F401  (registers `micropython`)

VERSION = "0.1.0"
