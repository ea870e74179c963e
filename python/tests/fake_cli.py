"""A fake `s3cachefs` executable for the tests, and a context manager that installs it.

The fake is a Python script written to a temporary directory whose name holds
a space (so S3CACHEFS_BIN must be split with shlex, not str.split). Each run
appends one JSON record {argv, stdin} to a file; FAKE_S3CACHEFS_MODE makes it
fail like the real CLI outside a mount ('fail': exit 2 and one stderr line,
before reading stdin), with two lines ('unexpected'), like an argument parser
('usage'), or hang without reading ('hang').
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from typing import Any, Dict, List
from unittest import mock

SCRIPT = r'''
import json, os, sys, time
mode = os.environ.get("FAKE_S3CACHEFS_MODE", "ok")
if mode == "fail":
    sys.stderr.write("s3cachefs: not an s3cachefs mount\n")
    sys.exit(2)
if mode == "unexpected":  # the real CLI's shape for an error it did not foresee
    sys.stderr.write("s3cachefs: boom\ns3cachefs: (unexpected error; run with --log-level debug for details)\n")
    sys.exit(1)
if mode == "usage":  # an argument parser's error, before the CLI's own handling
    sys.stderr.write("error: unknown command 'prefetch'\n(Did you mean refresh?)\n")
    sys.exit(1)
if mode == "hang":
    time.sleep(60)
data = sys.stdin.buffer.read()
with open(os.environ["FAKE_S3CACHEFS_RECORD"], "a") as record:
    record.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(),
                             "stdin": data.decode("utf-8", "surrogateescape")}) + "\n")
'''


class FakeCli:
    """`with FakeCli(mode) as cli:` sets S3CACHEFS_BIN to the fake; cli.runs() lists its runs."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode

    def __enter__(self) -> "FakeCli":
        self._dir = tempfile.TemporaryDirectory(prefix="fake bin ")
        script = os.path.join(self._dir.name, "s3cachefs.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        self.record = os.path.join(self._dir.name, "runs.jsonl")
        self._env = mock.patch.dict(os.environ, {
            "S3CACHEFS_BIN": f"{shlex.quote(sys.executable)} {shlex.quote(script)}",
            "FAKE_S3CACHEFS_RECORD": self.record,
            "FAKE_S3CACHEFS_MODE": self.mode,
        })
        self._env.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._env.stop()
        self._dir.cleanup()

    def runs(self) -> List[Dict[str, Any]]:
        """One {argv, cwd, lines} per run of the fake, in order; lines = stdin split on newlines."""
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            records = [json.loads(line) for line in f]
        return [{"argv": r["argv"], "cwd": r["cwd"], "lines": _lines(r["stdin"])} for r in records]


def _lines(stdin: str) -> List[str]:
    assert stdin == "" or stdin.endswith("\n"), f"list not newline-terminated: {stdin[-80:]!r}"
    return stdin.split("\n")[:-1]
