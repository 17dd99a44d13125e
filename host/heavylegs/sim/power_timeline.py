"""The power states a simulated pod went through, in sensor time.

The simulated board reports every light sleep (begin, end), the radio going on
and off, the advertising interval, the number of centrals connected and the
bytes moved on the I2C bus (board events 0x83, simlink_proto.POWER_*).
`PowerTimeline` keeps them and `summary()` integrates them over a span of the
run: how long the MCU slept and was awake, how long the radio was off,
advertising or connected, and how often each transition happened. An energy
model (bench/power_budget.py) prices these states; nothing here assumes a
duty cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from heavylegs.sim.board import simlink_proto as proto


@dataclass
class PowerSummary:
    span_s: float = 0.0
    asleep_s: float = 0.0  # MCU in light sleep
    awake_s: float = 0.0
    radio_off_s: float = 0.0  # BLE inactive
    advertising_s: float = 0.0  # radio on, advertising, no central connected
    connected_s: float = 0.0  # at least one central connected
    advertising_events: float = 0.0  # advertisements sent (duration / interval)
    sleeps: int = 0  # light sleeps begun
    radio_ons: int = 0  # BLE went active (beacon bursts and the session's end)
    radio_offs: int = 0
    connects: int = 0
    # Read over I2C in the wakes between light sleeps with the radio off (the
    # board reports the bytes as each sleep begins); awake with the radio on, the
    # bus time is part of awake_s already.
    bus_bytes: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in vars(self).items()}


@dataclass
class PowerTimeline:
    """(sensor ms, POWER_* kind, value) in the order the board sent them."""

    events: list[tuple[int, int, int]] = field(default_factory=list)

    def add(self, ms: int, kind: int, value: int) -> None:
        self.events.append((ms, kind, value))

    def times(self, kind: int, value: int | None = None) -> list[float]:
        """Sensor seconds of each event of `kind` (and `value`, if given)."""
        return [
            ms / 1000
            for ms, k, v in self.events
            if k == kind and (value is None or (v != 0) == (value != 0))
        ]

    def summary(self, start_s: float = 0.0, end_s: float | None = None) -> PowerSummary:
        """The states integrated from start_s to end_s (the last event if None)."""
        if end_s is None:
            end_s = self.events[-1][0] / 1000 if self.events else start_s
        out = PowerSummary(span_s=max(0.0, end_s - start_s))
        asleep, radio, interval_us, centrals = False, True, 0, 0
        radio_since_i2c = True
        at = start_s

        def accrue(until: float) -> None:
            nonlocal at
            lo, hi = max(at, start_s), min(until, end_s)
            if hi > lo:
                dt = hi - lo
                if asleep:
                    out.asleep_s += dt
                else:
                    out.awake_s += dt
                if not radio:
                    out.radio_off_s += dt
                elif centrals:
                    out.connected_s += dt
                elif interval_us:
                    out.advertising_s += dt
                if radio and interval_us:
                    out.advertising_events += dt / (interval_us / 1e6)
            at = max(at, until)

        for ms, kind, value in self.events:
            t = ms / 1000
            accrue(t)
            inside = start_s <= t <= end_s
            if kind == proto.POWER_SLEEP:
                asleep = bool(value)
                out.sleeps += int(inside and asleep)
            elif kind == proto.POWER_RADIO:
                if bool(value) != radio and inside:
                    if value:
                        out.radio_ons += 1
                    else:
                        out.radio_offs += 1
                radio = bool(value)
                radio_since_i2c = radio_since_i2c or radio
                if not radio:
                    interval_us, centrals = 0, 0
            elif kind == proto.POWER_ADVERTISE:
                interval_us = value
            elif kind == proto.POWER_CONNECTIONS:
                out.connects += int(inside and value > centrals)
                centrals = value
            elif kind == proto.POWER_BUS:
                if inside and not radio_since_i2c:
                    out.bus_bytes += value
                radio_since_i2c = radio
        accrue(end_s)
        return out
