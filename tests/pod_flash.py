"""What a simulated pod's flash holds, read with the firmware's own journal."""

from __future__ import annotations

from pathlib import Path

from heavylegs_pod import wire
from heavylegs_pod.journal import Journal


def journal_strides(flash: Path) -> dict[int, list[dict]]:
    """Session id -> every readable stride record of that session, decoded."""
    journal = Journal(str(flash / "journal"), 1 << 30)
    return {
        sid: [wire.decode_stride(rec) for _, rec in journal.records(sid)]
        for sid in journal.sessions()
    }
