"""Writing files safely: every file srm writes (exports, schedules' files and their
``.segment.json``, the sandbox's and demo's state, segment files) goes through here.

srm often runs as root on a shared jump host, from cron too, and writes into folders other
people can write to. So a file is written as a whole or not at all, never through a link,
and never over something the user did not ask to replace:

- the temporary file is created by ``mkstemp`` in the target's folder (``O_CREAT|O_EXCL``,
  an unpredictable name, mode 0600): a symbolic link planted where it goes is never followed;
- its data is flushed to the disk (``fsync``) before it takes the target's name;
- a target that exists is replaced only when the caller says so (``--force``, or the caller
  proves the file is its own, as a schedule does with the ``.segment.json`` beside each file);
  without that the new file is hard-linked into place, which fails if anything has appeared
  there meanwhile, so there is no window between the check and the write;
- a target that is not a regular file (a symbolic link, a device such as ``/dev/full``, a
  fifo, a folder) is refused, ``--force`` or not;
- the folder must exist: srm never creates a folder the user did not ask for.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")
PRIVATE = 0o600  # files holding customer data (every export, the sandbox state)


class FileRefused(Exception):
    """A target srm will not write: it is not a regular file, or it exists and replacing it
    was not asked for. The message names the path and what to do."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def check_target(path: str | os.PathLike[str], *, replace: bool = False) -> bool:
    """Whether ``path`` exists (a regular file); ``FileRefused`` when it must not be written:
    not a regular file, or existing while ``replace`` is false."""
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        folder = target.parent
        if not folder.is_dir():
            raise FileRefused(path, f"the folder {folder} does not exist") from None
        return False
    if stat.S_ISLNK(info.st_mode):
        raise FileRefused(path, "is a symbolic link; srm never writes through one")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a fifo"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        raise FileRefused(path, f"is {kind}, not a regular file; srm writes only files")
    if not replace:
        raise FileRefused(path, "exists; give --force to replace it")
    return True


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a folder; the file itself is synced
    finally:
        os.close(fd)


def write_file(
    path: str | os.PathLike[str],
    fill: Callable[[IO[Any]], T],
    *,
    replace: bool = False,
    owned: Callable[[Path], bool] | None = None,
    mode: int = PRIVATE,
    binary: bool = False,
    newline: str | None = "",
) -> T:
    """Write ``path`` whole or not at all: ``fill(handle)`` writes the content (text, UTF-8,
    unless ``binary``) and its result is returned.

    An existing ``path`` is replaced only with ``replace`` (the user's ``--force``) or when
    ``owned(path)`` says it is the caller's own file; anything but a regular file is refused.
    """
    target = Path(path)
    exists = check_target(target, replace=True)
    if exists and not replace and not (owned is not None and owned(target)):
        raise FileRefused(path, "exists; give --force to replace it")
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    try:
        os.fchmod(fd, mode)
        with (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        ) as handle:
            result = fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if exists:
            # Still a regular file? (A link swapped in since the check is replaced, not
            # followed: rename acts on the name, never on what a link points to.)
            check_target(target, replace=True)
            os.replace(tmp, target)
        else:
            _place_new(tmp, target)
        _fsync_folder(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return result


def _place_new(tmp: str, target: Path) -> None:
    """Give the new file its name only if nothing has that name now (no check-then-write
    window): a hard link fails with EEXIST; where links are not supported, rename."""
    try:
        os.link(tmp, target, follow_symlinks=False)
    except FileExistsError:
        raise FileRefused(
            target, "appeared while srm was writing; give --force to replace it"
        ) from None
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
        if os.path.lexists(target):
            raise FileRefused(target, "exists; give --force to replace it") from None
        os.rename(tmp, target)
        return
    os.unlink(tmp)


def write_text(path: str | os.PathLike[str], text: str, **kw: Any) -> None:
    """``write_file`` for a whole string."""
    write_file(path, lambda handle: handle.write(text), **kw)


def create_private(path: str | os.PathLike[str]) -> None:
    """Create an empty file with mode 0600, never through a link and never over an existing
    file (SQLite then opens it; its -wal and -shm copy the mode)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, PRIVATE)
    os.close(fd)
