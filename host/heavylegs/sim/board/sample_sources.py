"""Where the emulated chip's samples come from: a list in memory, or a trace file."""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    from trace_layout import SAMPLE_BYTES, read_header
else:
    from heavylegs.sim.board.trace_layout import SAMPLE_BYTES, read_header


class ArraySource:
    """Samples from an in-memory list of 6-tuples (trace units) at a given rate."""

    def __init__(self, samples, rate_mhz):
        self.samples = samples
        self.rate_mhz = rate_mhz

    def n_ticks(self, odr_mhz):
        return len(self.samples) * odr_mhz // self.rate_mhz

    def sample(self, tick, odr_mhz, out):
        index = tick * self.rate_mhz // odr_mhz
        if index >= len(self.samples):
            index = len(self.samples) - 1
        row = self.samples[index]
        for i in range(6):
            out[i] = row[i]


class TraceFileSource:
    """Samples straight from a trace file, read in blocks into a reused array."""

    _BLOCK = 512

    def __init__(self, path):
        from array import array

        self._file = open(path, "rb")
        try:
            header = read_header(self._file)
        except ValueError as exc:
            self._file.close()
            raise OSError("%s: %s" % (path, exc))
        self.header = header
        self.n_samples = header["n_samples"]
        self.rate_mhz = int(header["rate_hz"] * 1000 + 0.5)
        self._data_start = self._file.tell()
        self._block = array("i", bytes(SAMPLE_BYTES * self._BLOCK))
        self._block_index = -1

    def n_ticks(self, odr_mhz):
        return self.n_samples * odr_mhz // self.rate_mhz

    def sample(self, tick, odr_mhz, out):
        index = tick * self.rate_mhz // odr_mhz
        if index >= self.n_samples:
            index = self.n_samples - 1
        block = index // self._BLOCK
        if block != self._block_index:
            self._file.seek(self._data_start + block * self._BLOCK * SAMPLE_BYTES)
            self._file.readinto(self._block)
            self._block_index = block
        base = (index - block * self._BLOCK) * 6
        blk = self._block
        for i in range(6):
            out[i] = blk[base + i]

    def close(self):
        self._file.close()
