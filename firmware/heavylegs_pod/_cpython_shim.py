"""Lets CPython import pod modules: `micropython.const` and no-op code emitters.

Never shipped to a pod (deploy/build.py leaves it out); viper kernels have a
pure-Python twin that CPython uses instead.
"""

import sys
import types


def _identity(value):
    return value


def _install():
    if "micropython" in sys.modules:
        return
    module = types.ModuleType("micropython")
    module.const = _identity
    module.native = _identity
    module.viper = _identity
    module.heap_lock = lambda: None
    module.heap_unlock = lambda: 0
    sys.modules["micropython"] = module


_install()
