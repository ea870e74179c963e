"""Announce a read order straight to the daemon's control socket (no process start).

Each s3cachefs daemon listens on a Unix socket, HTTP inside, that the CLI finds
from the mount point (src/daemon/runtime-state.ts, src/cli/control-client.ts).
This module finds it the same way, from the standard library only:

1. the mount holding a path: the longest ``fuse.s3cachefs`` mount point in
   /proc/mounts that contains ``os.path.abspath(path)`` (like the CLI's
   mount-paths.ts, no symlinks resolved);
2. the runtime directory: ``$S3CACHEFS_RUNTIME_DIR``, else the first of
   /run/s3cachefs (root only), ``$XDG_RUNTIME_DIR/s3cachefs``,
   ``$TMPDIR/s3cachefs-UID`` (Node's os.tmpdir(): TMPDIR, TMP, TEMP, /tmp) and
   ~/.s3cachefs/run that is absent or a directory we own;
3. the socket: ``<runtime dir>/<first 16 hex of sha256(mount point)>.sock``.

Then ``POST /prefetch {session, paths, append, windowFiles?, windowBytes?}``
in chunks (the daemon refuses bodies over 1 MiB), the first chunk replacing
this process's order and the rest appending to it, exactly as
``s3cachefs prefetch --list -`` does. ``session`` is this process's pid: the
daemon keeps one order per announcing process.

find_socket() answers None when there is no such mount or socket; announce()
then runs the CLI instead.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import time
from typing import Dict, Iterator, List, Optional, Tuple, Union

from .errors import S3CacheFsError

MOUNTS_FILE = "/proc/mounts"
FS_TYPE = "fuse.s3cachefs"
ROUTE = "/prefetch"

# A request body stays under this (the daemon's control server refuses > 1 MiB).
MAX_CHUNK_BYTES = 512 * 1024
# ... and holds at most this many paths (the CLI's chunk).
MAX_CHUNK_PATHS = 4000

# The daemon's size units (src/config/units.ts), for window_bytes given as "2GiB".
_BYTE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2,
               "mib": 1024 ** 2, "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3,
               "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def mount_points(mounts_file: str) -> List[str]:
    """The s3cachefs mount points, from the mount table (octal escapes undone)."""
    try:
        with open(mounts_file, encoding="utf-8", errors="surrogateescape") as table:
            lines = table.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split(" ")
        if len(fields) >= 3 and fields[2] == FS_TYPE:
            out.append(_OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[1]))
    return out


def owning_mount(abs_path: str, mounts: List[str]) -> Optional[str]:
    """The longest mount point containing ``abs_path``."""
    owners = [m for m in mounts if abs_path == m or abs_path.startswith(m if m == "/" else m + "/")]
    return max(owners, key=len) if owners else None


def runtime_dir() -> str:
    configured = os.environ.get("S3CACHEFS_RUNTIME_DIR")
    if configured:
        return configured
    uid = os.getuid()
    candidates = ["/run/s3cachefs"] if uid == 0 else []
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "s3cachefs"))
    candidates += [os.path.join(_node_tmpdir(), f"s3cachefs-{uid}"),
                   os.path.join(os.path.expanduser("~"), ".s3cachefs", "run")]
    for candidate in candidates:
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            return candidate
        except OSError:
            continue
        if os.path.isdir(candidate) and not os.path.islink(candidate) and st.st_uid == uid:
            return candidate
    return candidates[-1]


def socket_path(mount_point: str) -> str:
    digest = hashlib.sha256(mount_point.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(runtime_dir(), f"{digest}.sock")


def find_socket(path: Union[str, bytes]) -> Optional[Tuple[str, str]]:
    """(mount point, socket path) of the mount holding ``path``; None when not found."""
    mount = owning_mount(os.path.abspath(os.fsdecode(path)), mount_points(MOUNTS_FILE))
    if mount is None:
        return None
    sock = socket_path(mount)
    return (mount, sock) if os.path.exists(sock) else None


def relative_path(abs_path: str, mount: str) -> Optional[str]:
    """``abs_path`` relative to ``mount`` (starting with '/'); None when outside it."""
    if abs_path == mount:
        return "/"
    if mount == "/":
        return abs_path
    return abs_path[len(mount):] if abs_path.startswith(mount + "/") else None


def window_bytes_number(window_bytes: Union[int, str, None]) -> Optional[int]:
    """window_bytes as the daemon takes it (a byte count); ValueError for a bad size."""
    if window_bytes is None or isinstance(window_bytes, int):
        return window_bytes
    match = _SIZE.match(window_bytes)
    factor = _BYTE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or factor is None:
        raise ValueError(f"window_bytes: cannot parse size {window_bytes!r} (examples: 512MiB, 2GiB)")
    return int(float(match.group(1)) * factor)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: Optional[float]) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


def json_chunks(paths: List[str]) -> Iterator[List[str]]:
    """Paths split so that each request body stays under MAX_CHUNK_BYTES and MAX_CHUNK_PATHS."""
    chunk: List[str] = []
    size = 0
    for path in paths:
        encoded = len(json.dumps(path)) + 1
        if chunk and (size + encoded > MAX_CHUNK_BYTES or len(chunk) >= MAX_CHUNK_PATHS):
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += encoded
    if chunk:
        yield chunk


def post_order(sock_path: str, mount: str, paths: List[str], *, window_files: Optional[int],
               window_bytes: Optional[int], timeout: Optional[float]) -> Dict[str, int]:
    """Sends mount-relative ``paths`` as this process's order; the daemon's last answer."""
    deadline = None if timeout is None else time.monotonic() + timeout
    conn = _UnixConnection(sock_path, timeout)
    answer: Dict[str, int] = {}
    try:
        for number, chunk in enumerate(json_chunks(paths)):
            body: Dict[str, object] = {"session": str(os.getpid()), "paths": chunk, "append": number > 0}
            if window_files is not None:
                body["windowFiles"] = window_files
            if window_bytes is not None:
                body["windowBytes"] = window_bytes
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout()
                conn.timeout = remaining
                if conn.sock is not None:
                    conn.sock.settimeout(remaining)
            answer = _request(conn, json.dumps(body).encode("utf-8"), mount)
    except socket.timeout as err:
        raise S3CacheFsError(f"s3cachefs: the daemon of {mount} did not take the list within {timeout:g} s",
                             code="TIMEOUT") from err
    except FileNotFoundError as err:
        raise S3CacheFsError(f"s3cachefs: {mount} is not an s3cachefs mount (no control socket)",
                             code="PREFETCH_FAILED") from err
    except ConnectionRefusedError as err:
        raise S3CacheFsError(f"s3cachefs: the s3cachefs daemon of {mount} is gone; "
                             f"run 's3cachefs unmount {mount}'", code="PREFETCH_FAILED") from err
    except (OSError, http.client.HTTPException) as err:
        raise S3CacheFsError(f"s3cachefs: cannot reach the daemon of {mount}: {err}",
                             code="PREFETCH_FAILED") from err
    finally:
        conn.close()
    return answer


def _request(conn: _UnixConnection, body: bytes, mount: str) -> Dict[str, int]:
    conn.request("POST", ROUTE, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    text = response.read().decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        raise S3CacheFsError(f"s3cachefs: the daemon of {mount} answered non-JSON", code="PREFETCH_FAILED")
    if response.status != 200:
        message = parsed.get("error") if isinstance(parsed, dict) else None
        raise S3CacheFsError(f"s3cachefs: {message or f'status {response.status}'}", code="PREFETCH_FAILED")
    return parsed if isinstance(parsed, dict) else {}


def _node_tmpdir() -> str:
    """Node's os.tmpdir() on Linux: $TMPDIR, $TMP, $TEMP or /tmp, without a trailing slash."""
    for name in ("TMPDIR", "TMP", "TEMP"):
        value = os.environ.get(name)
        if value:
            return value[:-1] if len(value) > 1 and value.endswith("/") else value
    return "/tmp"
