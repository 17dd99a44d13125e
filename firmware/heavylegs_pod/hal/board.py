"""Builds the pod's hardware objects from its board file (hardware/boards/*.json).

With hal/lsm6ds.py and hal/radio.py, the only code that touches `machine`.
"""

import json

from machine import I2C, Pin


class Board:
    def __init__(self, config):
        self.config = config
        bus = config["i2c"]
        if "scl" in bus:
            self.i2c = I2C(
                bus.get("id", 0),
                scl=Pin(bus["scl"]),
                sda=Pin(bus["sda"]),
                freq=bus.get("freq", 400000),
            )
        else:
            self.i2c = I2C(bus.get("id", 0), freq=bus.get("freq", 400000))
        imu = config["imu"]
        self.imu_address = imu.get("address", 0x6A)
        self.imu_part = imu.get("part", "LSM6DSOX")
        self.int1 = Pin(imu["int1"], Pin.IN)
        self.name = config.get("name", "board")

    @classmethod
    def from_file(cls, path="board.json"):
        with open(path) as f:
            return cls(json.load(f))
