"""Every byte layout that leaves the pod, gathered in one namespace.

The firmware (MicroPython) and the host (CPython) both import this module, so the
wire format exists exactly once. The layouts live by role: wire_live (what a
central reads and is notified of), wire_control (the control points), wire_sync
(the sync stream's records), wire_journal (flash frames) and wire_pull (USB pull
batches). docs/protocol.md describes the same layouts for people;
tests/test_wire_vectors.py and the firmware tests check the shared vectors in
tests/vectors/wire.json against both runtimes.

All records are little-endian. Encoders write into caller-owned buffers so the
pod never allocates per stride.
"""

# Every role module's names are this module's names, so `wire.X` stays the one
# spelling on pod and host whichever role X belongs to.
from heavylegs_pod.wire_control import *  # noqa: F403
from heavylegs_pod.wire_journal import *  # noqa: F403
from heavylegs_pod.wire_live import *  # noqa: F403
from heavylegs_pod.wire_pull import *  # noqa: F403
from heavylegs_pod.wire_sync import *  # noqa: F403
