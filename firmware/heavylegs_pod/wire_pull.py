"""The USB pull batch: journal records as base64 lines through the REPL.

Part of the wire format (wire.py gathers it; docs/protocol.md).
"""

import struct

from micropython import const

# --- USB pull batch --------------------------------------------------------------
# `heavylegs pull` reads the journal through the USB REPL, where only text passes.
# A batch is lines of base64 (at most PULL_LINE_BYTES bytes each) holding entries
# of a u32 journal index and the 20-byte stride record at that index, then one
# line of JSON {"next": int, "count": int, "gaps": [[first, count], ...]}: every
# index below next is either sent or in a gap, count is the session's length.
PULL_ENTRY_FORMAT = "<I"
PULL_ENTRY_SIZE = const(24)  # the index, then STRIDE_SIZE bytes of record
PULL_LINE_BYTES = const(1536)  # 64 entries a line


def encode_pull_index(buf, offset, index):
    """Write an entry's index at offset; returns where its stride record goes."""
    struct.pack_into(PULL_ENTRY_FORMAT, buf, offset, index)
    return offset + 4


def write_pull_batch(write, entries, next_index, count, gaps):
    """Write a batch of entries (bytes, whole entries) and its JSON tail through write."""
    import binascii
    import json

    view = memoryview(entries)
    for k in range(0, len(entries), PULL_LINE_BYTES):
        write(binascii.b2a_base64(view[k : k + PULL_LINE_BYTES]))
    # by hand, not a dict: MicroPython's dicts do not keep their keys' order
    write('{"next": %d, "count": %d, "gaps": %s}\n' % (next_index, count, json.dumps(gaps)))


def decode_pull_batch(text):
    """A batch's text -> ([(index, stride record bytes)], tail dict); raises ValueError."""
    import binascii
    import json

    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("an empty journal batch")
    tail = json.loads(lines[-1])
    if not isinstance(tail, dict):
        raise ValueError("a journal batch without its tail")
    blob = b"".join(binascii.a2b_base64(line) for line in lines[:-1])
    if len(blob) % PULL_ENTRY_SIZE:
        raise ValueError("a journal batch of partial records")
    entries = []
    for k in range(0, len(blob), PULL_ENTRY_SIZE):
        index = struct.unpack_from(PULL_ENTRY_FORMAT, blob, k)[0]
        entries.append((index, blob[k + 4 : k + PULL_ENTRY_SIZE]))
    return entries, tail
