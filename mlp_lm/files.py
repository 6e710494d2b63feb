"""Reading a file the user named, safely: regular files only, and never more than the limit + 1 bytes.

A device (/dev/zero, /dev/urandom), a FIFO, a socket or a terminal reports a size of 0 and can be read forever, and
opening a FIFO with no writer blocks: `read_limited` opens without blocking, refuses anything that is not a regular
file at once, and reads at most `limit + 1` bytes even from a regular file whose size is wrong (/proc) or grows.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_limited(path: str | Path, limit: int, error: type[Exception], what: str = "file",
                 missing: str | None = None) -> bytes:
    """The bytes of the regular file at `path`, at most `limit`; anything else raises `error` with one line.

    `what` names the kind of file expected in the messages ("names file", "checkpoint file"); `missing` is the
    message for a path where nothing is (default: "cannot read PATH: No such file or directory").
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        raise error(missing or f"cannot read {path}: {e.strerror}") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}") from None
    except OSError as e:
        raise error(f"cannot read {path}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{path} is a folder, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in KINDS if test(st.st_mode)), "not a regular file")
            raise error(f"{path} is {kind}, not a regular file; give the path of a {what}")
        if st.st_size > limit:
            raise error(f"{path.name} is {st.st_size:,} bytes; the limit is {limit:,} bytes")
        chunks, n = [], 0
        while n <= limit:
            chunk = os.read(fd, min(limit + 1 - n, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            n += len(chunk)
        if n > limit:
            raise error(f"{path.name} is more than {limit:,} bytes, the limit")
        return b"".join(chunks)
    except OSError as e:
        raise error(f"cannot read {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)
