"""One root exception, so callers (the CLI above all) can catch every deliberate failure."""


class HeavylegsError(Exception):
    """Root of every error heavylegs raises on purpose."""


class StoreError(HeavylegsError):
    """The stride database could not be opened, upgraded, written or queried as asked."""


class Interrupted(HeavylegsError):
    """The user stopped a command (Ctrl-C); the message says what was kept."""
