"""The trace file's layout and its one reader of header and truth, for CPython and MicroPython.

heavylegs.trace (the host, with numpy), sample_sources.TraceFileSource (the
simulated board) and the firmware tests read traces through these functions, so
the layout is parsed in one place:

    MAGIC
    one line of JSON: the header (rate, pod, foot, sample count, ...)
    n_samples x SAMPLE_BYTES: six little-endian int32, acc in micro-g, gyro in 1/8 mdps
    JSON ground truth (a list), to the end of the file

Plain Python only (json, file objects): the board imports it top-level from
MICROPYPATH, the host as heavylegs.sim.board.trace_layout.
"""

import json

MAGIC = b"HLTRACE1\n"
VERSION = 1
SAMPLE_BYTES = 24
UG_PER_G = 1000000
GYRO_UNITS_PER_DPS = 8000
REQUIRED_KEYS = ("n_samples", "rate_hz", "pod", "foot")


def read_header(f):
    """The header (a dict) of a trace open for binary reading, leaving `f` at sample 0.

    Raises ValueError saying what is wrong with the file.
    """
    if f.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a heavylegs trace (bad magic)")
    line = f.readline()
    if not line.endswith(b"\n"):
        raise ValueError("header line is not terminated")
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise ValueError("header is not JSON: %s" % exc)
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    if header.get("version") != VERSION:
        raise ValueError("unsupported trace version %s" % header.get("version"))
    for key in REQUIRED_KEYS:
        if key not in header:
            raise ValueError("header has no %r" % key)
    return header


def read_truth(f):
    """The ground-truth list that follows the samples; `f` is just past the last sample."""
    try:
        truth = json.loads(f.read() or b"[]")
    except ValueError as exc:
        raise ValueError("ground truth is not JSON: %s" % exc)
    if not isinstance(truth, list):
        raise ValueError("ground truth is not a JSON list")
    return truth
