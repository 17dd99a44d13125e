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


def drive(imu, chip, engine):
    """Every sample of the emulated chip's trace through driver and engine, as the
    pod's sensor task does; the test plays time. Returns the stride rows."""
    strides = []
    while not chip.exhausted:
        chip.advance(chip.ticks_to_watermark())
        count = imu.read_fifo()
        first = imu.sample_count - count
        s = imu.samples
        for i in range(count):
            k = 6 * i
            if engine.feed(first + i, s[k], s[k + 1], s[k + 2], s[k + 3], s[k + 4], s[k + 5]):
                strides.append(list(engine.stride))
    return strides
