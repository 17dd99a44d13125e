# Runs one test function inside the real MicroPython binary and reports on stdout.
# Usage: micropython mp_runner.py MODULE TEST_NAME
import sys

module_name = sys.argv[1]
test_name = sys.argv[2]
try:
    module = __import__(module_name)
    getattr(module, test_name)()
except Exception as exc:  # noqa: BLE001 - every failure must reach pytest
    print("HLTEST FAIL")
    sys.print_exception(exc, sys.stdout)
    sys.exit(1)
print("HLTEST PASS")
