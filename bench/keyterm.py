"""A pseudo-terminal that runs a console and times each key to its last repaint.

The console runs on a pty sized 120x40 as in a real terminal; a thread reads everything it
writes, stamping each read. A key is written to the pty and its time runs until the last frame
the console paints for it: frames are bursts of output (reads less than FRAME_GAP apart), and
the key is settled once it has painted at least one frame, no frame has come for `quiet`
seconds and, when the step names one, its expected text has been painted. The time reported is that last frame's end minus
the moment of the write, so the quiet wait itself is not counted.

A focused Input blinks its cursor every 0.5 s: a frame that repaints one spot (one cursor
position, a few hundred bytes) arriving long after the one before is a blink and is not
counted, except as the first frame (typing a character repaints just the input too). Output
that places no cell (Textual's pointer-shape sequence ahead of a screen switch) is no frame.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass

FRAME_GAP = 0.004
BLINK_BYTES = 400
BLINK_AFTER = 0.1
_CUP = re.compile(rb"\x1b\[\d+;\d+H")
_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")

KEYS = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "ctrl+p": b"\x10",
}


def plain(data: bytes) -> str:
    """The text a stretch of output paints, without escape sequences."""
    return _ESCAPES.sub(b"", data).decode("utf-8", "replace")


@dataclass
class Timing:
    """One key: ms from the write to the end of its last frame, frames and bytes painted."""

    ms: float | None
    frames: int
    nbytes: int
    text: str
    # ms to the end of the first frame by which the expected text was painted (None: none
    # expected, or never painted)
    expect_ms: float | None = None


class Term:
    """A console process on a pty; `press` writes a key and waits for it to settle."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cols: int = 120,
        rows: int = 40,
        cwd: str | None = None,
    ):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        full.update(TERM="xterm-256color", **env)
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full,
            start_new_session=True,
            cwd=cwd,
        )
        os.close(slave)
        self.fd = master
        self.chunks: list[tuple[float, bytes]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.chunks.append((time.perf_counter(), data))

    def _frames(self, start: int) -> list[tuple[float, float, bytes]]:
        frames: list[tuple[float, float, bytes]] = []
        for stamp, data in self.chunks[start:]:
            if frames and stamp - frames[-1][1] <= FRAME_GAP:
                first, _, body = frames[-1]
                frames[-1] = (first, stamp, body + data)
            else:
                frames.append((stamp, stamp, data))
        return frames

    @staticmethod
    def _counted(frames: list[tuple[float, float, bytes]]) -> list[tuple[float, float, bytes]]:
        kept: list[tuple[float, float, bytes]] = []
        previous_end = None
        for frame in frames:
            first, end, body = frame
            if not _CUP.search(body):
                continue  # no cell painted: a pointer-shape or mode sequence, not a repaint
            blink = (
                kept
                and previous_end is not None
                and first - previous_end > BLINK_AFTER
                and len(body) < BLINK_BYTES
                and len(_CUP.findall(body)) <= 1
            )
            if not blink:
                kept.append(frame)
            previous_end = end
        return kept

    def press(
        self, key: bytes, expect: str | None = None, quiet: float = 0.2, timeout: float = 15.0
    ) -> Timing:
        """Write one key (or a burst of text) and time it to its last counted frame."""
        start = len(self.chunks)
        sent = time.perf_counter()
        os.write(self.fd, key)
        while True:
            time.sleep(0.005)
            now = time.perf_counter()
            frames = self._counted(self._frames(start))
            text = plain(b"".join(body for _, _, body in frames))
            seen = expect is None or expect in text
            last = frames[-1][1] if frames else sent
            # At least one frame: on a busy machine the first can come later than `quiet`.
            if seen and frames and now - last >= quiet and now - self._last_stamp() >= FRAME_GAP:
                break
            if now - sent > timeout:
                return Timing(None, len(frames), sum(len(f[2]) for f in frames), text)
        first_seen = None
        if expect is not None:
            painted = b""
            for _, end, body in frames:
                painted += body
                if expect in plain(painted):
                    first_seen = (end - sent) * 1000
                    break
        nbytes = sum(len(f[2]) for f in frames)
        return Timing((last - sent) * 1000, len(frames), nbytes, text, first_seen)

    def _last_stamp(self) -> float:
        return self.chunks[-1][0] if self.chunks else 0.0

    def wait_for(self, expect: str, quiet: float = 0.5, timeout: float = 120.0) -> float:
        """Wait until `expect` has been painted since start and output is quiet; seconds."""
        began = time.perf_counter()
        while True:
            time.sleep(0.02)
            now = time.perf_counter()
            text = plain(b"".join(data for _, data in self.chunks))
            if expect in text and now - self._last_stamp() >= quiet:
                return now - began
            if self.proc.poll() is not None:
                raise RuntimeError(f"the console exited ({self.proc.returncode}):\n{text[-2000:]}")
            if now - began > timeout:
                raise TimeoutError(f"{expect!r} never painted; the console wrote:\n{text[-2000:]}")

    def close(self) -> None:
        """Ask the console to quit (ctrl+q), then make sure its process group is gone."""
        try:
            os.write(self.fd, b"\x11")
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        os.close(self.fd)
