"""Owner check: HMAC-SHA256 challenge-response with the per-pod key.

The key is provisioned over USB at flash time into `key.bin` at the root of the
pod's flash: 16 to 64 raw bytes (32 recommended), written as a new file and
renamed into place. A pod without it is unprovisioned and answers every owner
operation with CP_NOT_AUTHORISED; RSC, battery and the live stride stream stay
open regardless.

MicroPython has `hashlib.sha256` on every supported port but no `hmac` module,
so HMAC (RFC 2104) is built here from the hash. The host computes the same with
Python's `hmac`; a test checks both agree.
"""

import hashlib

from micropython import const

from heavylegs_pod import wire

KEY_FILE = "key.bin"
KEY_MIN = const(16)
KEY_MAX = const(64)
_BLOCK = const(64)


def hmac_sha256(key, message):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner = bytearray(_BLOCK)
    outer = bytearray(_BLOCK)
    for i in range(_BLOCK):
        k = key[i] if i < len(key) else 0
        inner[i] = k ^ 0x36
        outer[i] = k ^ 0x5C
    h = hashlib.sha256(inner)
    h.update(message)
    o = hashlib.sha256(outer)
    o.update(h.digest())
    return o.digest()


def response_for(key, nonce):
    """What the owner sends in OP_AUTH for this nonce."""
    return hmac_sha256(key, wire.AUTH_LABEL + bytes(nonce))[: wire.MAC_SIZE]


def equal(a, b, n):
    """Compare n bytes in constant time, so timing tells nothing of the key."""
    diff = 0
    for i in range(n):
        diff |= a[i] ^ b[i]
    return diff == 0


def load_key(path=KEY_FILE):
    """The provisioned key, or None when the pod has none (or a malformed one)."""
    try:
        with open(path, "rb") as f:
            key = f.read(KEY_MAX + 1)
    except OSError:
        return None
    if not KEY_MIN <= len(key) <= KEY_MAX:
        return None
    return key
