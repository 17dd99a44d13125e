"""The pod's asyncio tasks: sensor FIFO -> gait engine -> BLE.

The watermark IRQ only sets a ThreadSafeFlag; the sensor task drains the FIFO in
bursts and runs the engine sample by sample. Time is the sensor's sample count.
"""

import asyncio
import json
import os
import struct

from micropython import const

from heavylegs_pod import wire
from heavylegs_pod.gait.detector import F_IC_FRAC, F_IC_N, StrideDetector, ic_ms
from heavylegs_pod.hal.board import Board
from heavylegs_pod.hal.lsm6ds import LSM6DS
from heavylegs_pod.hal.radio import open_radio
from heavylegs_pod.services import PodServices

_STATUS_EVERY_SAMPLES = const(2048)


def load_config(path="pod.json"):
    """Pod settings written at flash time; defaults keep a blank pod usable."""
    config = {"foot": "left", "name": "heavylegs"}
    try:
        with open(path) as f:
            config.update(json.load(f))
    except OSError:
        pass
    if config["foot"] not in ("left", "right"):
        raise ValueError("pod.json: foot must be 'left' or 'right', not %r" % config["foot"])
    return config


class Pod:
    def __init__(self, board, config, ble):
        self.board = board
        self.config = config
        self.imu = LSM6DS(board.i2c, board.imu_address, board.imu_part)
        self.engine = StrideDetector(
            self.imu.odr_hz, self.imu.acc_lsb_per_g, self.imu.gyro_mdps_per_lsb
        )
        self.right_foot = config["foot"] == "right"
        # Until the journal numbers sessions, a random id tells recordings apart.
        session = struct.unpack("<I", os.urandom(4))[0] & 0x3FFFFFFF
        self.services = PodServices(ble, config["name"], self.right_foot, session)
        self.strides = 0
        self._fifo_ready = asyncio.ThreadSafeFlag()
        board.int1.irq(self._on_watermark, trigger=board.int1.IRQ_RISING)

    def _on_watermark(self, pin):
        self._fifo_ready.set()

    async def sensor_task(self):
        imu = self.imu
        engine = self.engine
        odr = imu.odr_hz
        next_status = _STATUS_EVERY_SAMPLES
        while True:
            await self._fifo_ready.wait()
            while True:
                count = imu.read_fifo()
                if not count:
                    break
                first = imu.sample_count - count
                s = imu.samples
                for i in range(count):
                    k = 6 * i
                    if engine.feed(
                        first + i, s[k], s[k + 1], s[k + 2], s[k + 3], s[k + 4], s[k + 5]
                    ):
                        stride = engine.stride
                        self.strides += 1
                        self.services.send_stride(
                            stride, ic_ms(stride[F_IC_N], stride[F_IC_FRAC], odr)
                        )
            if imu.sample_count >= next_status:
                next_status = imu.sample_count + _STATUS_EVERY_SAMPLES
                self.services.update_status(
                    wire.STATE_RECORDING, imu.overruns, imu.sample_count, self.strides
                )

    async def run(self):
        await self.sensor_task()


def main():
    board = Board.from_file("board.json")
    pod = Pod(board, load_config("pod.json"), open_radio())
    asyncio.run(pod.run())
