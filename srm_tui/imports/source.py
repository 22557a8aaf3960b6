"""Import files on disk: checked before anything is written, read back by line with offsets.

A file is identified by the sha256 of its text (a copy or a renamed file is the same
import, and so is a copy that differs only by a UTF-8 byte order mark or by Windows line
ends: the digest skips the mark and reads CRLF as LF), checked to be UTF-8 text as a whole before the first row is written (a non-UTF-8
export is one clear error, never a half-imported file), and read as physical lines with the
byte offset after each, so an import can resume exactly after its last committed batch.
"""

from __future__ import annotations

import codecs
import hashlib
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from srm_tui.exits import UsageProblem

BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20


@dataclass
class SourceFile:
    """A file named on the command line, checked and fingerprinted."""

    path: Path
    name: str  # as the user typed it, for messages and FILE:LINE
    sha256: str
    size: int
    lines: int  # physical lines (a last line without a line break counts)
    bom: int  # bytes of UTF-8 byte order mark at the start (0 or 3)


def open_source(name: str) -> SourceFile:
    """Check that ``name`` is a readable, non-empty UTF-8 regular file; fingerprint it.

    Raises UsageProblem with one line naming the file and what is wrong.
    """
    path = Path(name)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageProblem(f"{name}: no such file") from None
    except OSError as exc:
        raise UsageProblem(f"{name}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageProblem(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UsageProblem(f"{name}: not a regular file")
    digest = _TextDigest()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    size = 0
    last = b""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = lines + chunk.count(b"\n", 0, exc.start) + 1
                    raise UsageProblem(
                        f"{name}:{line}: not UTF-8 text (byte 0x{chunk[exc.start]:02x}); "
                        "export the report as UTF-8"
                    ) from None
                lines += chunk.count(b"\n")
                size += len(chunk)
                last = chunk[-1:]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise UsageProblem(
                    f"{name}:{lines + 1}: not UTF-8 text (cut in the middle of "
                    "a character); export the report as UTF-8"
                ) from None
            fh.seek(0)
            head = fh.read(len(BOM))
    except PermissionError:
        raise UsageProblem(f"{name}: cannot read: permission denied") from None
    except OSError as exc:
        raise UsageProblem(f"{name}: cannot read: {exc.strerror or exc}") from None
    if size == 0 or (size == len(BOM) and head == BOM):
        raise UsageProblem(f"{name}: empty file")
    if last != b"\n":
        lines += 1
    return SourceFile(path, name, digest.hexdigest(), size, lines, len(BOM) if head == BOM else 0)


class _TextDigest:
    """sha256 of a file's text: without a leading UTF-8 BOM, CRLF read as LF (a CR at the
    end of one chunk waits for the next)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._start = True
        self._cr = False

    def update(self, chunk: bytes) -> None:
        if self._start:
            self._start = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
        if self._cr:
            chunk = b"\r" + chunk
        self._cr = chunk.endswith(b"\r")
        if self._cr:
            chunk = chunk[:-1]
        self._sha.update(chunk.replace(b"\r\n", b"\n"))

    def hexdigest(self) -> str:
        if self._cr:
            self._sha.update(b"\r")
            self._cr = False
        return self._sha.hexdigest()


class LineReader:
    """Physical lines of a file as text, from a byte offset, counting lines and bytes.

    ``offset``/``line`` always describe the position after the last line handed out, so
    after the CSV reader returns a record they mark where the next record begins (a quoted
    field spanning several lines is read whole before its record is returned).
    """

    def __init__(self, source: SourceFile, offset: int | None = None, line: int = 0):
        self._fh = open(source.path, "rb")
        start = source.bom if offset is None else offset
        self._fh.seek(start)
        self.offset = start
        self.line = line  # lines consumed so far (1-based number of the last line read)

    def __iter__(self) -> Iterator[str]:
        for raw in self._fh:
            self.offset += len(raw)
            self.line += 1
            yield raw.decode("utf-8")

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
