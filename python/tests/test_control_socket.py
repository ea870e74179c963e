"""announce() over the daemon's control socket: a fake daemon on a Unix socket, a fake mount table.

The fake daemon answers POST /prefetch like src/daemon/control-routes.ts and
records every body; the mount table lists one fuse.s3cachefs mount whose name
holds a space (written as \\040, as the kernel does). The CLI is the fake one
of fake_cli.py, so a test can tell which way a list went.
"""
from __future__ import annotations

import json
import os
import socketserver
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List
from unittest import mock

from s3cachefs import S3CacheFsError, announce, control_socket

from .fake_cli import FakeCli

MOUNT = "/mnt/fake s3/data"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server: Any = self.server
        server.bodies.append({"route": self.path, **body})
        status, answer = (500, {"error": server.error}) if server.error else \
            (200, {"files": sum(len(b["paths"]) for b in server.bodies), "windowFiles": 256, "windowBytes": 1 << 30})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _Daemon(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeMount:
    """Runtime dir + socket + mount table; `with FakeMount(serve=False)` has no socket."""

    def __init__(self, serve: bool = True, error: str = "") -> None:
        self.serve = serve
        self.error = error
        self.bodies: List[Dict[str, Any]] = []

    def __enter__(self) -> "FakeMount":
        self._dir = tempfile.TemporaryDirectory(prefix="s3cachefs-run-")
        mounts = os.path.join(self._dir.name, "mounts")
        with open(mounts, "w") as table:
            table.write("proc /proc proc rw 0 0\n")
            table.write(f"s3cachefs {MOUNT.replace(' ', chr(92) + '040')} fuse.s3cachefs rw,nosuid 0 0\n")
        self._patches = [mock.patch.dict(os.environ, {"S3CACHEFS_RUNTIME_DIR": self._dir.name}),
                         mock.patch.object(control_socket, "MOUNTS_FILE", mounts)]
        for p in self._patches:
            p.start()
        self._server = None
        if self.serve:
            self._server = _Daemon(control_socket.socket_path(MOUNT), _Handler)
            self._server.bodies = self.bodies  # type: ignore[attr-defined]
            self._server.error = self.error  # type: ignore[attr-defined]
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for p in reversed(self._patches):
            p.stop()
        self._dir.cleanup()


class SocketTest(unittest.TestCase):
    def test_the_socket_is_found_from_the_mount_table_and_runtime_dir(self) -> None:
        with FakeMount():
            found = control_socket.find_socket(f"{MOUNT}/train/a.JPEG")
            self.assertIsNotNone(found)
            assert found is not None
            self.assertEqual(found[0], MOUNT)
            self.assertTrue(found[1].endswith(".sock"))
            self.assertIsNone(control_socket.find_socket("/elsewhere/a.JPEG"))

    def test_a_list_goes_to_the_socket_in_chunks_and_never_to_the_cli(self) -> None:
        paths = [f"{MOUNT}/train/n{i % 7}/img_{i:05d}.JPEG" for i in range(10_000)]
        with FakeCli() as cli, FakeMount() as daemon:
            announce(paths, window_files=64, window_bytes="2GiB")
            self.assertEqual(cli.runs(), [])
        bodies = daemon.bodies
        self.assertGreaterEqual(len(bodies), 3)
        self.assertEqual([b["append"] for b in bodies], [False] + [True] * (len(bodies) - 1))
        self.assertEqual({b["route"] for b in bodies}, {"/prefetch"})
        self.assertEqual({b["session"] for b in bodies}, {str(os.getpid())})
        self.assertEqual({b["windowFiles"] for b in bodies}, {64})
        self.assertEqual({b["windowBytes"] for b in bodies}, {2 << 30})
        sent = [p for b in bodies for p in b["paths"]]
        self.assertEqual(sent, [p[len(MOUNT):] for p in paths])
        self.assertTrue(all(len(json.dumps(b)) < 1 << 20 for b in bodies))

    def test_announcing_2000_paths_costs_no_process_start(self) -> None:
        paths = [f"{MOUNT}/train/n{i % 7}/img_{i:05d}.JPEG" for i in range(2000)]
        with FakeCli() as cli, FakeMount() as daemon:
            started = time.monotonic()
            announce(paths)
            elapsed = time.monotonic() - started
            self.assertEqual(cli.runs(), [])
        self.assertEqual(len(daemon.bodies), 1)
        print(f"\n  2,000 paths over the socket: {elapsed * 1000:.1f} ms", end=" ")  # reported, not asserted

    def test_the_daemon_error_is_raised_with_its_message(self) -> None:
        with FakeCli() as cli, FakeMount(error="control request: paths are mount-relative and start with /"):
            with self.assertRaises(S3CacheFsError) as caught:
                announce([f"{MOUNT}/a.JPEG"])
            self.assertEqual(cli.runs(), [])
        self.assertEqual(caught.exception.code, "PREFETCH_FAILED")
        self.assertEqual(str(caught.exception), "s3cachefs: control request: paths are mount-relative and start with /")

    def test_without_a_socket_the_cli_gets_the_whole_list(self) -> None:
        paths = [f"{MOUNT}/a.JPEG", f"{MOUNT}/b.JPEG"]
        with FakeCli() as cli, FakeMount(serve=False):
            announce(paths)
            self.assertEqual(cli.runs()[0]["lines"], paths)

    def test_a_path_outside_the_mount_announces_nothing(self) -> None:
        with FakeCli() as cli, FakeMount() as daemon:
            with self.assertRaises(S3CacheFsError) as caught:
                announce([f"{MOUNT}/a.JPEG", "/elsewhere/b.JPEG"])
            self.assertEqual(cli.runs(), [])
        self.assertIn("not on the same mount", str(caught.exception))
        self.assertEqual(daemon.bodies, [])

    def test_a_name_that_is_not_utf8_goes_through_the_cli_with_its_bytes(self) -> None:
        first = f"{MOUNT}/a.JPEG".encode()
        odd = os.fsencode(MOUNT) + b"/\xff.JPEG"
        with FakeCli() as cli, FakeMount() as daemon:
            announce([first, odd])
            lines = cli.runs()[0]["lines"]
        self.assertEqual([os.fsencode(line) for line in lines], [first, odd])
        self.assertEqual(daemon.bodies, [])

    def test_a_gone_daemon_is_named(self) -> None:
        with FakeCli(), FakeMount(serve=False):
            sock = control_socket.socket_path(MOUNT)
            open(sock, "w").close()  # a stale socket file: nobody listens
            with self.assertRaises(S3CacheFsError) as caught:
                announce([f"{MOUNT}/a.JPEG"])
        self.assertIn("is gone", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
