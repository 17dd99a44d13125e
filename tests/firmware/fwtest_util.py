# Helpers for firmware tests running inside MicroPython.
import json
import os


def data_path(name):
    return os.getenv("HEAVYLEGS_TEST_DATA") + "/" + name


def read_truth(path):
    """The ground-truth strides stored after the samples of a trace file."""
    with open(path, "rb") as f:
        f.readline()
        header = json.loads(f.readline())
        f.seek(f.tell() + header["n_samples"] * 24)
        return header, json.loads(f.read())


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def close(a, b, tolerance, what):
    check(abs(a - b) <= tolerance, "%s: %r vs %r (tolerance %r)" % (what, a, b, tolerance))
