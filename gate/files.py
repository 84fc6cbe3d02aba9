"""Files fi-gate reads and writes: only what was meant, and never half.

Reading (the policy, `--from-file`): a regular file of bounded size. A symbolic link is followed
only when it resolves inside the working directory (a pull request can add a link named
`fi-gate.yml` that points at `~/.ssh/id_ed25519`); devices, FIFOs and sockets are refused
(`/dev/zero` would be read forever, a FIFO would block). Messages never quote the content.

Writing (reports): into a temporary file in the same folder, renamed over the path. A later
step never reads half a report, and a symbolic link planted at the path (in a pull request's
checkout) is replaced, never written through.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024  # a saved response: as much as the client reads of an answer


class Refused(Exception):
    """The file is not one fi-gate reads; the message says why (and never quotes it)."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    FileNotFoundError and IsADirectoryError come through as they are; every other refusal is
    `Refused`.
    """
    name = os.fspath(path)
    real = os.path.realpath(name)
    if real != os.path.abspath(name):  # a symbolic link on the way
        cwd = os.path.realpath(os.getcwd())
        if not _inside(real, cwd):
            raise Refused(
                "is a symbolic link that leads out of the working directory; fi-gate does not "
                "follow it (copy the file into the repository instead)"
            )
    if os.path.isdir(real):
        raise IsADirectoryError(name)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Refused(f"cannot be opened: {exc.strerror}") from exc
    with contextlib.closing(os.fdopen(fd, "rb", buffering=0)) as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("is not a regular file (a device, a FIFO or a socket); give a file")
        if info.st_size > limit:
            raise Refused(f"is {info.st_size:,} bytes; fi-gate reads at most {limit:,}")
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise Refused(f"is more than {limit:,} bytes; fi-gate reads at most {limit:,}")
    return bytes(data)


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename.

    OSError (a missing folder, no permission, a full disk) comes through for the caller to
    report; the temporary file is removed.
    """
    target = Path(path)
    folder = target.parent
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        with contextlib.suppress(OSError):  # mkstemp's 0600 is stricter than a report needs
            os.chmod(temp, 0o644 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def github_event(path: str | None) -> dict[str, Any]:
    """The event GitHub wrote for this job (GITHUB_EVENT_PATH), as a mapping; empty when there
    is none or it cannot be read (what it says is a courtesy, never part of a verdict)."""
    import json

    if not path:
        return {}
    try:
        event = json.loads(read_regular(path, 16 * 1024 * 1024))
    except (OSError, ValueError, Refused):
        return {}
    return event if isinstance(event, dict) else {}
