"""What can go wrong with a pod on USB, each with a message that says what to do."""

from heavylegs.errors import HeavylegsError


class DeployError(HeavylegsError):
    """A flash, pull or doctor run could not finish."""


class BoardFileError(DeployError):
    """A board file under hardware/boards/ is missing or malformed."""


class BuildError(DeployError):
    """mpy-cross could not compile the firmware."""


class PortError(DeployError):
    """The serial port cannot be opened: wrong name, unplugged, or busy."""


class NotMicroPythonError(DeployError):
    """Something answers on the port, but not a MicroPython REPL."""


class PodCommandError(DeployError):
    """Code run on the pod raised; the message carries the pod's traceback."""


class PodTimeoutError(DeployError):
    """The pod stopped answering in the middle of a command."""


class BoardMismatchError(DeployError):
    """The pod on the port is not the board that was named."""


class PodFilesystemFullError(DeployError):
    """The pod's flash has no room for what was to be written; nothing was changed."""


class SensorError(DeployError):
    """The IMU named in the board file does not answer as it should."""


class FirmwareStartError(DeployError):
    """The flashed firmware failed to import or to start on the pod."""
