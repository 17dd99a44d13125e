# Runs the pod's gait engine inside MicroPython over a file of raw counts.
# Usage: micropython engine_runner.py COUNTS_FILE ODR ACC_LSB_PER_G GYRO_MDPS_PER_LSB FOOT
# COUNTS_FILE holds int16 little-endian rows (gx gy gz ax ay az). Prints one line
# per stride (its fields) and a last line with the engine's calibration state.
import sys
from array import array

from heavylegs_pod.gait.detector import GaitEngine

path, odr, acc_lsb, gyro_mdps, foot = sys.argv[1:6]
engine = GaitEngine(int(odr), int(acc_lsb), int(gyro_mdps), foot=foot)
block = array("h", bytes(6 * 2 * 256))
n = 0
with open(path, "rb") as f:
    while True:
        got = f.readinto(block)
        if not got:
            break
        for i in range(got // 12):
            k = 6 * i
            if engine.feed(
                n, block[k], block[k + 1], block[k + 2], block[k + 3], block[k + 4], block[k + 5]
            ):
                print("S " + " ".join(str(v) for v in engine.stride))
            n += 1
print(
    "E %d %d %d %s"
    % (
        engine.cal.solved,
        engine.recalibrations,
        engine.foot_votes,
        " ".join(str(v) for v in engine.cal.rows),
    )
)
