"""announce(): hand the order in which files will be read to an s3cachefs mount.

It posts the list straight to the mount's control socket (control_socket.py:
milliseconds for thousands of paths, no process start). Only when that socket
cannot be found does it run the CLI, as described below.

Runs ``s3cachefs prefetch --list - [--window-files N] [--window-bytes SIZE]``
and streams the paths on its stdin, one per line, so that a list of millions of
paths never becomes one argv (ARG_MAX) nor one string in memory. The CLI finds
the mount the paths are in, gives the list to that mount's daemon and returns;
the daemon then keeps a window of files ahead of the reader.

The executable is ``$S3CACHEFS_BIN`` (a command line, split with shlex, e.g.
``node /opt/s3cachefs/dist/cli.js``), else ``s3cachefs`` on PATH, else
``node dist/cli.js`` of the checkout this package sits in.

The CLI's stderr goes to a temporary file, not a pipe, and its stdout to
/dev/null: a CLI that writes a lot before it has read all of stdin can never
deadlock against our writes.
"""
from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Iterable, Iterator, List, Optional, Union

from . import control_socket
from .errors import S3CacheFsError

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

# Environment variable naming the CLI command (split with shlex).
BIN_ENV = "S3CACHEFS_BIN"

# Seconds the whole hand-over (streaming the list, the CLI's reply) may take.
# The CLI returns once the daemon holds the list: 1.28 M ImageNet paths (~64 MB)
# take seconds; two minutes mean the daemon is stuck, and a training job must
# not wait on it without a bound.
DEFAULT_TIMEOUT_S = 120.0

# A line naming an error when the CLI died before printing its own (`error: unknown
# option` from the argument parser, `TypeError: …` from Node).
_ERROR_LINE = re.compile(r"^(error:|\w*Error\b)")

# Bytes of lines gathered before one write to the pipe: few syscalls, bounded memory.
WRITE_CHUNK_BYTES = 1 << 16


def announce(paths: Iterable[PathLike], *, window_files: Optional[int] = None,
             window_bytes: Union[int, str, None] = None, check: bool = True,
             timeout: Optional[float] = DEFAULT_TIMEOUT_S) -> None:
    """Tell the s3cachefs mount holding ``paths`` that they will be read in this order.

    Args:
        paths: files inside one s3cachefs mount (str, bytes or os.PathLike),
            absolute or relative to the current directory, in reading order.
            Consumed lazily: a generator of millions of paths is fine.
        window_files: how many files the daemon keeps fetched ahead of the
            reader (``--window-files``); None: the CLI's default.
        window_bytes: bound of that window in bytes, as an int or a size such
            as ``"2GiB"`` (``--window-bytes``); None: the CLI's default.
        check: raise S3CacheFsError when the CLI fails; False ignores failures.
        timeout: seconds the whole hand-over may take (None: no bound); on
            expiry the CLI is killed and TIMEOUT raised.

    An empty ``paths`` runs nothing. A path containing a newline (which the
    one-path-per-line list cannot carry), a NUL byte, or an empty path raises
    ValueError, whatever ``check`` says, and the CLI is stopped before it sees
    the end of the list, so nothing is announced.
    """
    argv = prefetch_args(window_files, window_bytes)
    lines = _encoded_lines(paths)
    first = next(lines, None)
    if first is None:
        return
    try:
        for_cli = _over_socket(first, lines, window_files, window_bytes, timeout)
        if for_cli is None:
            return
        first, lines = next(for_cli), for_cli
        command = resolve_command()
    except S3CacheFsError:
        if check:
            raise
        return
    try:
        _run(command, argv, first, lines, timeout)
    except S3CacheFsError:
        if check:
            raise


def _over_socket(first: bytes, rest: Iterator[bytes], window_files: Optional[int],
                 window_bytes: Union[int, str, None], timeout: Optional[float]) -> Optional[Iterator[bytes]]:
    """Posts the list to the daemon's control socket; None when done. When the socket
    cannot be found (or a name is not UTF-8, which JSON cannot carry exactly), the
    lines to stream to the CLI instead, none lost."""
    found = control_socket.find_socket(first[:-1])
    if found is None:
        return itertools.chain((first,), rest)
    mount, sock = found
    relative: List[str] = []
    for line in itertools.chain((first,), rest):
        try:
            text = line[:-1].decode("utf-8")
        except UnicodeDecodeError:
            consumed = (os.fsencode(mount + p if p != "/" else mount) + b"\n" for p in relative)
            return itertools.chain(consumed, (line,), rest)
        inside = control_socket.relative_path(os.path.abspath(text), mount)
        if inside is None:
            raise S3CacheFsError(f"s3cachefs: {text} is not on the same mount as {mount}; "
                                 "run one command per mount", code="PREFETCH_FAILED")
        relative.append(inside)
    try:
        size = control_socket.window_bytes_number(window_bytes)
    except ValueError as err:
        raise S3CacheFsError(f"s3cachefs: --window-bytes: {err}", code="PREFETCH_FAILED") from err
    control_socket.post_order(sock, mount, relative, window_files=window_files, window_bytes=size,
                              timeout=timeout)
    return None


def prefetch_args(window_files: Optional[int], window_bytes: Union[int, str, None]) -> List[str]:
    """The CLI arguments after the command: ``prefetch --list - [flags]``."""
    argv = ["prefetch", "--list", "-"]
    if window_files is not None:
        if isinstance(window_files, bool) or not isinstance(window_files, int) or window_files < 1:
            raise ValueError(f"window_files must be a positive int, got {window_files!r}")
        argv += ["--window-files", str(window_files)]
    if window_bytes is not None:
        if isinstance(window_bytes, bool) or not isinstance(window_bytes, (int, str)):
            raise ValueError(f"window_bytes must be an int or a size string, got {window_bytes!r}")
        if isinstance(window_bytes, int) and window_bytes < 1:
            raise ValueError(f"window_bytes must be positive, got {window_bytes!r}")
        if isinstance(window_bytes, str) and (not window_bytes or window_bytes != window_bytes.strip()):
            raise ValueError(f"window_bytes must be a size such as '2GiB', got {window_bytes!r}")
        argv += ["--window-bytes", str(window_bytes)]
    return argv


def resolve_command() -> List[str]:
    """The command that runs the CLI: $S3CACHEFS_BIN, `s3cachefs` on PATH, or this checkout's build."""
    configured = os.environ.get(BIN_ENV, "").strip()
    if configured:
        return shlex.split(configured)
    on_path = shutil.which("s3cachefs")
    if on_path:
        return [on_path]
    # python/s3cachefs/prefetch_cli.py → the repository root, when used from a checkout.
    built = Path(__file__).resolve().parents[2] / "dist" / "cli.js"
    node = shutil.which("node")
    if node and built.is_file():
        return [node, str(built)]
    raise S3CacheFsError(
        f"s3cachefs: executable not found: put s3cachefs on PATH or set {BIN_ENV} "
        "(e.g. 'node /path/to/s3cachefs/dist/cli.js')", code="NO_EXECUTABLE")


def encode_path(path: PathLike) -> bytes:
    """One list line for ``path``: its bytes as the OS sees them, plus a newline."""
    raw = os.fsencode(path)  # also takes os.PathLike; undecodable names round-trip
    if not raw:
        raise ValueError("cannot announce an empty path")
    if b"\n" in raw:
        raise ValueError(f"cannot announce a path containing a newline: {path!r}")
    if b"\0" in raw:
        raise ValueError(f"cannot announce a path containing a NUL byte: {path!r}")
    return raw + b"\n"


def _encoded_lines(paths: Iterable[PathLike]) -> Iterator[bytes]:
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        raise TypeError("announce() takes an iterable of paths, not one path: wrap it in a list")
    for path in paths:
        yield encode_path(path)


def _run(command: List[str], args: List[str], first: bytes, rest: Iterator[bytes],
         timeout: Optional[float]) -> None:
    with tempfile.TemporaryFile() as stderr_file:
        try:
            proc = subprocess.Popen(command + args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=stderr_file)
        except OSError as err:
            raise S3CacheFsError(f"s3cachefs: cannot run {shlex.join(command)}: {err.strerror or err}",
                                 code="NO_EXECUTABLE") from err
        expired = threading.Event()
        timer = _start_timer(proc, expired, timeout)
        try:
            assert proc.stdin is not None
            complete = _stream(proc.stdin, first, rest)
            returncode = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
            if proc.poll() is None:  # an error or KeyboardInterrupt while streaming
                # Kill before closing stdin: an EOF would hand the CLI a partial list.
                proc.kill()
                proc.wait()
            _close_quietly(proc.stdin)
        _check_outcome(returncode, complete, expired.is_set(), timeout, _read_all(stderr_file))


def _start_timer(proc: subprocess.Popen, expired: threading.Event,
                 timeout: Optional[float]) -> Optional[threading.Timer]:
    if timeout is None:
        return None

    def expire() -> None:
        if proc.poll() is None:
            expired.set()
            proc.kill()  # our blocked write then fails with BrokenPipeError

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return timer


def _stream(stdin: IO[bytes], first: bytes, rest: Iterator[bytes]) -> bool:
    """Writes every line; False when the CLI stopped reading (exited) before the end."""
    chunk = [first]
    size = len(first)
    try:
        for line in rest:
            chunk.append(line)
            size += len(line)
            if size >= WRITE_CHUNK_BYTES:
                stdin.write(b"".join(chunk))
                chunk.clear()
                size = 0
        stdin.write(b"".join(chunk))
        stdin.close()  # EOF: the list is complete
        return True
    except BrokenPipeError:
        _close_quietly(stdin)
        return False


def _close_quietly(stdin: Optional[IO[bytes]]) -> None:
    if stdin is None or stdin.closed:
        return
    try:
        stdin.close()
    except BrokenPipeError:
        pass  # the buffered rest cannot be flushed to a reader that is gone


def _check_outcome(returncode: int, complete: bool, expired: bool,
                   timeout: Optional[float], stderr: str) -> None:
    if expired:
        raise S3CacheFsError(f"s3cachefs: prefetch did not finish within {timeout:g} s; killed it",
                             code="TIMEOUT", returncode=returncode, stderr=stderr)
    if returncode != 0:
        raise S3CacheFsError(_diagnostic(stderr) or _status_text(returncode),
                             code="PREFETCH_FAILED", returncode=returncode, stderr=stderr)
    if not complete:
        raise S3CacheFsError("s3cachefs: prefetch exited before reading the whole list",
                             code="LIST_NOT_READ", returncode=returncode, stderr=stderr)


def _read_all(stderr_file: IO[bytes]) -> str:
    stderr_file.seek(0)
    return stderr_file.read().decode("utf-8", errors="replace")


def _diagnostic(text: str) -> str:
    """The CLI's own line (`s3cachefs: …`; the first: a second one may only add a hint),
    else an argument parser's or Node's error line, else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("s3cachefs:")]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    return (ours or errors or lines or [""])[0]


def _status_text(returncode: int) -> str:
    if returncode < 0:
        return f"s3cachefs: prefetch was killed by signal {-returncode}"
    return f"s3cachefs: prefetch exited with status {returncode}"
