# Boot script of the heavylegs test board: the unix port standing in for a pod
# on USB. heavylegs.sim.testboard starts `micropython -i` on this file after
# every (soft) reset. Like a real board it gives the firmware a filesystem and
# a working directory, then runs main.py unless the host asked for the raw REPL.
#
#   HEAVYLEGS_TESTBOARD_ROOT   directory that is the pod's filesystem (posix)
#   HEAVYLEGS_TESTBOARD_FLASH  if set: a littlefs image file inside ROOT, mounted
#                              at /flash instead, so the pod's flash has a real
#                              size and a full filesystem fails as on a board
#   HEAVYLEGS_TESTBOARD_MAIN   "1": run main.py, as a board does after a reset

import os
import sys


class _FileBlockDevice:
    """A block device backed by a host file, so the flash survives resets."""

    def __init__(self, path, block_size=4096):
        self.block_size = block_size
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.blocks = self.f.tell() // block_size

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * self.block_size + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=0):
        self.f.seek(block * self.block_size + offset)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            return 0
        return None


def _mount():
    root = os.getenv("HEAVYLEGS_TESTBOARD_ROOT")
    os.chdir(root)
    image = os.getenv("HEAVYLEGS_TESTBOARD_FLASH")
    if not image:
        return
    import vfs

    device = _FileBlockDevice(root + "/" + image)
    try:
        fs = vfs.VfsLfs2(device)
    except OSError:
        vfs.VfsLfs2.mkfs(device)
        fs = vfs.VfsLfs2(device)
    vfs.mount(fs, "/flash")
    os.chdir("/flash")


def _run_main():
    try:
        os.stat("main.py")
    except OSError:
        return
    with open("main.py") as f:
        code = compile(f.read(), "main.py", "exec")
    try:
        exec(code, {"__name__": "__main__"})
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: B036 - a board prints any error of main.py, then the REPL
        sys.print_exception(exc)


_mount()
if os.getenv("HEAVYLEGS_TESTBOARD_MAIN") == "1":
    _run_main()
