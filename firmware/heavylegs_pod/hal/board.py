"""Builds the pod's hardware objects from its board file (hardware/boards/*.json).

`heavylegs flash` copies the board file to the pod as board.json. With
hal/lsm6ds.py and hal/radio.py, the only code that touches `machine`. Keys are
described in host/heavylegs/deploy/boards.py; the ones read here:

    i2c      {id, scl?, sda?, freq?}             the IMU on I2C, or
    spi      {id, cs, sck?, mosi?, miso?, baudrate?}  on 4-wire SPI (one of the two)
    imu      {address (I2C only), part, int1, int2?, deep_sleep_wake?, acc_fs_g?, gyro_fs_dps?}
             (deep_sleep_wake: INT1 is on a pin that can wake the MCU from deep
             sleep, an ESP32 RTC GPIO; the ranges default to the part's widest)
    led      {pin, kind "pin"|"neopixel", active_low?} or absent
    button   {pin, active_low?, pull "up"|"down"?} or absent
    battery  {adc, divider?} or absent

LED, button and battery are built on first use, so a board (or the simulated
board, whose `machine` has no ADC) without them costs nothing.
"""

import json

from machine import I2C, SPI, Pin

# Resting LiPo voltage (mV) at 100, 90, ... 0 % charge: a typical 1S discharge
# curve at light load. Good to about 10 %, which is all a status byte needs.
_LIPO_MV = (4200, 4060, 3980, 3920, 3870, 3820, 3790, 3770, 3740, 3680, 3300)


def _int(value):
    # Addresses may be written as "0x6A" in a board file, for people.
    if isinstance(value, str):
        return int(value, 0)
    return value


def _section(config, key, required):
    value = config.get(key)
    if value is None:
        if required:
            raise ValueError("board.json: '%s' is missing" % key)
        return None
    return value


def _spi_registers(bus):
    from heavylegs_pod.hal.spi_regs import SpiRegisters

    if not isinstance(bus, dict) or "cs" not in bus:
        raise ValueError("board.json: spi needs a chip-select pin, spi.cs")
    given = ("sck" in bus) + ("mosi" in bus) + ("miso" in bus)
    if given not in (0, 3):
        raise ValueError("board.json: spi needs all of sck, mosi and miso, or none")
    # mode 3, which the LSM6DS's SPI expects; 10 MHz is its fastest clock
    baudrate = bus.get("baudrate", 10000000)
    if given:
        spi = SPI(
            bus.get("id", 0),
            baudrate=baudrate,
            polarity=1,
            phase=1,
            sck=Pin(bus["sck"]),
            mosi=Pin(bus["mosi"]),
            miso=Pin(bus["miso"]),
        )
    else:
        spi = SPI(bus.get("id", 0), baudrate=baudrate, polarity=1, phase=1)
    return SpiRegisters(spi, Pin(bus["cs"], Pin.OUT, value=1))


class Board:
    def __init__(self, config):
        self.config = config
        self.name = config.get("name", "board")
        self.i2c = None
        if config.get("spi") is not None:
            if config.get("i2c") is not None:
                raise ValueError("board.json: the IMU is on 'i2c' or on 'spi', not both")
            self.bus_kind = "spi"
            self.imu_bus = _spi_registers(config["spi"])
        else:
            bus = config.get("i2c")
            if bus is None:
                raise ValueError("board.json: the IMU's bus, 'i2c' or 'spi', is missing")
            freq = bus.get("freq", 400000)
            if "scl" in bus:
                self.i2c = I2C(
                    bus.get("id", 0), scl=Pin(bus["scl"]), sda=Pin(bus["sda"]), freq=freq
                )
            else:
                self.i2c = I2C(bus.get("id", 0), freq=freq)
            self.bus_kind = "i2c"
            # the driver calls machine.I2C itself: nothing in between on this path
            self.imu_bus = self.i2c
        imu = _section(config, "imu", True)
        if "int1" not in imu:
            raise ValueError("board.json: imu.int1 is missing")
        if self.bus_kind == "spi":
            # chip select picks the chip and SpiRegisters ignores the address: an
            # imu.address left in the file must not stop the pod booting
            self.imu_address = 0x6A
        else:
            self.imu_address = _int(imu.get("address", 0x6A))
        self.imu_part = imu.get("part", "LSM6DSOX")
        # the driver's full-scale keywords (None: its default, the part's widest)
        self.imu_ranges = {
            "acc_fs_g": imu.get("acc_fs_g"),
            "gyro_fs_dps": imu.get("gyro_fs_dps"),
        }
        self.int1 = Pin(imu["int1"], Pin.IN)
        self.int2 = Pin(imu["int2"], Pin.IN) if "int2" in imu else None
        self.deep_sleep_wake = bool(imu.get("deep_sleep_wake", False))
        self._led_config = _section(config, "led", False)
        self._button_config = _section(config, "button", False)
        self._battery_config = _section(config, "battery", False)
        self._led = None
        self._button = None
        self._adc = None

    @classmethod
    def from_file(cls, path="board.json"):
        with open(path) as f:
            return cls(json.load(f))

    # --- status LED ---------------------------------------------------------------
    def set_led(self, on):
        """Status LED on or off; False when the board has none."""
        led = self._led_config
        if led is None:
            return False
        if self._led is None:
            if led.get("kind", "pin") == "neopixel":
                import neopixel

                self._led = neopixel.NeoPixel(Pin(led["pin"], Pin.OUT), 1)
            else:
                self._led = Pin(led["pin"], Pin.OUT)
        if led.get("kind", "pin") == "neopixel":
            # Dim blue: bright enough indoors, kind to the battery.
            self._led[0] = (0, 0, 24) if on else (0, 0, 0)
            self._led.write()
        else:
            self._led.value(1 if bool(on) != bool(led.get("active_low", False)) else 0)
        return True

    # --- button -------------------------------------------------------------------
    def button_pressed(self):
        """True while the user button is held; False when the board has none."""
        button = self._button_config
        if button is None:
            return False
        if self._button is None:
            pull = button.get("pull")
            if pull == "up":
                self._button = Pin(button["pin"], Pin.IN, Pin.PULL_UP)
            elif pull == "down":
                self._button = Pin(button["pin"], Pin.IN, Pin.PULL_DOWN)
            else:
                self._button = Pin(button["pin"], Pin.IN)
        level = self._button.value()
        return bool(level) != bool(button.get("active_low", True))

    # --- sleep --------------------------------------------------------------------
    def sleep_until_int1(self, max_ms):
        """Light sleep until the sensor's INT1 rises or max_ms pass (RAM and BLE bond
        state kept). True when INT1 is high on return."""
        import machine

        try:
            import esp32

            # ESP32: INT1 is an RTC GPIO on the reference boards; level high wakes.
            esp32.wake_on_ext0(self.int1, esp32.WAKEUP_ANY_HIGH)
        except (ImportError, AttributeError, ValueError):
            pass  # rp2 and the simulated board: the timer (rp2) or INT1 (sim) ends it
        if not self.int1.value():
            machine.lightsleep(max_ms)
        return bool(self.int1.value())

    def deep_sleep(self):
        """Deep sleep until reset (a charger plugged in, the button): nothing returns."""
        import machine

        try:
            import esp32

            # a light sleep set INT1 as a wake source: a flat cell must not wake on a step
            esp32.wake_on_ext0(None, esp32.WAKEUP_ANY_HIGH)
        except ImportError:
            pass
        machine.deepsleep()

    def deep_sleep_until_int1(self, max_ms):
        """Deep sleep until INT1 rises or max_ms pass; waking is a reboot (RAM is lost,
        rtc_memory kept). Only where the board file sets imu.deep_sleep_wake."""
        import esp32
        import machine

        esp32.wake_on_ext0(self.int1, esp32.WAKEUP_ANY_HIGH)
        machine.deepsleep(max_ms)

    def woke_from_deep_sleep(self):
        import machine

        return machine.reset_cause() == machine.DEEPSLEEP_RESET

    def rtc_memory(self, data=None):
        """Bytes that survive deep sleep (not a power loss); None to read them."""
        import machine

        if data is None:
            return machine.RTC().memory()
        machine.RTC().memory(data)
        return data

    # --- battery ------------------------------------------------------------------
    def battery_mv(self):
        """Cell voltage in mV, or None when the board has no battery sense."""
        battery = self._battery_config
        if battery is None:
            return None
        if self._adc is None:
            from machine import ADC

            adc = ADC(Pin(battery["adc"]))
            # ESP32: without 11 dB attenuation the ADC saturates near 1 V.
            if hasattr(ADC, "ATTN_11DB"):
                adc.atten(ADC.ATTN_11DB)
            self._adc = adc
        adc = self._adc
        if hasattr(adc, "read_uv"):
            pin_mv = adc.read_uv() // 1000
        else:
            pin_mv = adc.read_u16() * 3300 // 65535
        return int(pin_mv * battery.get("divider", 1.0))

    def battery_percent(self, mv=-1):
        """0..100 from the cell voltage (read now unless given); 100 when not measured
        (USB or bench supply)."""
        if mv == -1:
            mv = self.battery_mv()
        if mv is None:
            return 100
        for i in range(len(_LIPO_MV)):
            if mv >= _LIPO_MV[i]:
                if i == 0:
                    return 100
                upper = _LIPO_MV[i - 1]
                lower = _LIPO_MV[i]
                return 100 - 10 * i + 10 * (mv - lower) // (upper - lower)
        return 0
