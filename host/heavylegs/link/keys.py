"""Owner keys of the pods this host may control and sync.

`heavylegs flash`/provisioning (deploy/) generates a key per pod, writes it to the
pod's flash as `key.bin` (raw bytes, see docs/protocol.md "Owner access") and
records it here with `KeyStore.put`. The file is JSON, address -> hex key,
replaced through a temporary file and a rename so a crash never leaves half of it.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from heavylegs.errors import HeavylegsError
from heavylegs.paths import default_home
from heavylegs_pod.auth import KEY_MAX, KEY_MIN

KEY_BYTES = 32


class KeyStoreError(HeavylegsError):
    """The key file is unreadable, or a key is malformed."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class KeyStore:
    """Pod address (upper case, as bleak reports it) -> owner key."""

    def __init__(self, path: Path | None = None, keys: dict[str, bytes] | None = None) -> None:
        self.path = path if path is not None or keys is not None else default_home() / "keys.json"
        self._keys: dict[str, bytes] = {k.upper(): v for k, v in (keys or {}).items()}
        if self.path is not None and self.path.exists():
            try:
                raw = json.loads(self.path.read_text())
                self._keys.update({a.upper(): bytes.fromhex(h) for a, h in raw.items()})
            except (OSError, ValueError, AttributeError) as exc:
                raise KeyStoreError(f"{self.path}: cannot read pod keys: {exc}") from exc

    def get(self, address: str) -> bytes | None:
        return self._keys.get(address.upper())

    def put(self, address: str, key: bytes) -> None:
        if not KEY_MIN <= len(key) <= KEY_MAX:
            raise KeyStoreError(f"a pod key has {KEY_MIN} to {KEY_MAX} bytes, not {len(key)}")
        self._keys[address.upper()] = bytes(key)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({a: k.hex() for a, k in sorted(self._keys.items())}, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def __contains__(self, address: str) -> bool:
        return address.upper() in self._keys
