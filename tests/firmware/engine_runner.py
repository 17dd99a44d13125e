# Runs the pod's gait engine inside MicroPython over a file of raw counts, on the
# pod's own sample path (SampleStream).
# Usage: micropython engine_runner.py COUNTS_FILE ODR ACC_LSB_PER_G GYRO_MDPS_PER_LSB FOOT [RECORDS]
# COUNTS_FILE holds int16 little-endian rows (gx gy gz ax ay az). Prints one line
# per stride (its fields) and a last line with the engine's calibration state.
# With RECORDS given ("left" or "right": the pod's foot), each stride line is
# followed by "R <hex>": the wire record the pod journals and sends for it, in a
# session started at sample 0.
import binascii
import sys
from array import array

from heavylegs_pod.gait.detector import GaitEngine
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.record import encode_stride_record
from heavylegs_pod.wire import STRIDE_SIZE


class CountsFile:
    """A file of counts rows, read a burst at a time, shaped like the FIFO driver."""

    def __init__(self, f):
        self.f = f
        self.samples = array("h", bytes(6 * 2 * 256))
        self.sample_count = 0

    def read_fifo(self):
        got = self.f.readinto(self.samples) // 12
        self.sample_count += got
        return got


path, odr, acc_lsb, gyro_mdps, foot = sys.argv[1:6]
records_foot = sys.argv[6] if len(sys.argv) > 6 else None
engine = GaitEngine(int(odr), int(acc_lsb), int(gyro_mdps), foot=foot)
record = bytearray(STRIDE_SIZE)
seq = 0


def on_stride(stride, now_n):
    global seq
    print("S " + " ".join(str(v) for v in stride))
    if records_foot:
        encode_stride_record(record, stride, seq, 0, int(odr), records_foot == "right")
        print("R " + binascii.hexlify(record).decode())
    seq += 1


with open(path, "rb") as f:
    stream = SampleStream(CountsFile(f), engine, on_stride)
    while stream.drain():
        pass
print(
    "E %d %d %d %s"
    % (
        engine.cal.solved,
        engine.recalibrations,
        engine.foot_votes,
        " ".join(str(v) for v in engine.cal.rows),
    )
)
