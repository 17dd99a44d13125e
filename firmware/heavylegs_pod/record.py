"""One engine stride row -> the 20-byte wire stride record.

The pod journals and notifies exactly this record, and host reprocessing makes
its records here too, so a stride reprocessed from a trace is byte for byte the
stride a pod streams: one mapping of units, flags and saturation, not two.
"""

from heavylegs_pod import wire
from heavylegs_pod.gait.detector import (
    F_CADENCE_CENTI,
    F_CLIPPED,
    F_GCT_01MS,
    F_IC_FRAC,
    F_IC_N,
    F_IMPACT_HALF_G,
    F_PRONATION_01DEG,
    F_RUNNING,
    F_STRIDE_01MS,
    F_STRIDE_LEN_CM,
    F_STRIKE_01DEG,
    ic_ms,
    strike_class,
)


def encode_stride_record(buf, stride, seq, start_n, odr_hz, right_foot):
    """Encode `stride` into buf: seq is its index in the session, and its initial
    contact is timed from sample start_n, the session's start. Allocates nothing."""
    flags = wire.FLAG_RIGHT if right_foot else 0
    if stride[F_RUNNING]:
        flags |= wire.FLAG_RUNNING
    if stride[F_CLIPPED]:
        flags |= wire.FLAG_CLIPPED
    strike = stride[F_STRIKE_01DEG]
    flags |= strike_class(strike) << wire.STRIKE_SHIFT
    wire.encode_stride(
        buf,
        seq,
        flags,
        ic_ms(stride[F_IC_N] - start_n, stride[F_IC_FRAC], odr_hz),
        stride[F_GCT_01MS],
        stride[F_STRIDE_01MS],
        stride[F_CADENCE_CENTI],
        strike,
        stride[F_IMPACT_HALF_G],
        stride[F_STRIDE_LEN_CM],
        # 0.1 degree to the wire's 0.5, to nearest
        (stride[F_PRONATION_01DEG] + 2) // 5,
    )
    return buf
