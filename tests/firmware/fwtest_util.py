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


def locked(call):
    """call() with the heap locked: any allocation inside it raises MemoryError.
    Bind the method before (locked(imu.read_fifo)): binding it allocates."""
    import micropython

    micropython.heap_lock()
    try:
        return call()
    finally:
        micropython.heap_unlock()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def close(a, b, tolerance, what):
    check(abs(a - b) <= tolerance, "%s: %r vs %r (tolerance %r)" % (what, a, b, tolerance))


def drive(imu, chip, engine):
    """Every sample of the emulated chip's trace through driver and engine on the
    pod's own path (SampleStream.drain); the test plays time. Returns the stride rows."""
    from heavylegs_pod.gait.stream import SampleStream

    strides = []
    stream = SampleStream(imu, engine, lambda stride, now_n: strides.append(list(stride)))
    while not chip.exhausted:
        chip.advance(chip.ticks_to_watermark())
        stream.drain()
    return strides
