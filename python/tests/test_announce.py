"""announce() against a fake `s3cachefs` executable: argv, the streamed list, failures."""
from __future__ import annotations

import os
import unittest
from pathlib import Path
from unittest import mock

from s3cachefs import S3CacheFsError, announce

from .fake_cli import FakeCli

PATHS = ["/mnt/data/train/n01/a.jpg", "/mnt/data/train/n02/b c.jpg", "relative/x.jpg"]


class ArgvAndListTest(unittest.TestCase):
    def test_argv_holds_prefetch_list_stdin_and_window_flags(self) -> None:
        with FakeCli() as cli:
            announce(PATHS, window_files=64, window_bytes="2GiB")
            runs = cli.runs()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["argv"],
                         ["prefetch", "--list", "-", "--window-files", "64", "--window-bytes", "2GiB"])

    def test_without_window_flags_the_cli_defaults_apply(self) -> None:
        with FakeCli() as cli:
            announce(PATHS)
            self.assertEqual(cli.runs()[0]["argv"], ["prefetch", "--list", "-"])

    def test_window_bytes_as_an_int_is_a_byte_count(self) -> None:
        with FakeCli() as cli:
            announce(PATHS, window_bytes=1 << 30)
            self.assertEqual(cli.runs()[0]["argv"][3:], ["--window-bytes", "1073741824"])

    def test_stdin_lines_are_the_paths_in_order(self) -> None:
        with FakeCli() as cli:
            announce([PATHS[0], Path(PATHS[1]), PATHS[2].encode()])
            self.assertEqual(cli.runs()[0]["lines"], PATHS)

    def test_relative_paths_go_as_given_and_the_cli_runs_in_our_directory(self) -> None:
        with FakeCli() as cli:
            announce(["relative/x.jpg"])
            run = cli.runs()[0]
        self.assertEqual(run["lines"], ["relative/x.jpg"])
        self.assertEqual(run["cwd"], os.getcwd())

    def test_a_large_generator_is_streamed_not_put_in_argv(self) -> None:
        count = 200_000
        paths = (f"/mnt/data/train/n{i % 1000:05d}/img_{i:07d}.JPEG" for i in range(count))
        with FakeCli() as cli:
            announce(paths, window_files=256)
            run = cli.runs()[0]
        self.assertEqual(len(run["argv"]), 5)
        self.assertEqual(len(run["lines"]), count)
        self.assertEqual(run["lines"][0], "/mnt/data/train/n00000/img_0000000.JPEG")
        self.assertEqual(run["lines"][-1], f"/mnt/data/train/n00999/img_{count - 1:07d}.JPEG")

    def test_file_names_that_are_not_utf8_keep_their_bytes(self) -> None:
        with FakeCli() as cli:
            announce([b"/mnt/data/\xff.jpg"])
            self.assertEqual(os.fsencode(cli.runs()[0]["lines"][0]), b"/mnt/data/\xff.jpg")

    def test_an_empty_list_runs_nothing(self) -> None:
        with FakeCli() as cli:
            announce([])
            announce(iter(()))
            self.assertEqual(cli.runs(), [])


class FailureTest(unittest.TestCase):
    def test_cli_failure_raises_with_its_stderr_line(self) -> None:
        with FakeCli("fail"):
            with self.assertRaises(S3CacheFsError) as caught:
                announce(PATHS)
        self.assertEqual(str(caught.exception), "s3cachefs: not an s3cachefs mount")
        self.assertEqual(caught.exception.code, "PREFETCH_FAILED")
        self.assertEqual(caught.exception.returncode, 2)

    def test_cli_exiting_before_reading_a_large_list_is_its_error_not_a_broken_pipe(self) -> None:
        paths = (f"/mnt/data/train/img_{i:07d}.JPEG" for i in range(300_000))
        with FakeCli("fail"):
            with self.assertRaises(S3CacheFsError) as caught:
                announce(paths)
        self.assertEqual(str(caught.exception), "s3cachefs: not an s3cachefs mount")

    def test_the_message_is_the_cli_s_first_own_line_else_the_error_line(self) -> None:
        for mode, message in (("unexpected", "s3cachefs: boom"), ("usage", "error: unknown command 'prefetch'")):
            with FakeCli(mode):
                with self.assertRaises(S3CacheFsError) as caught:
                    announce(PATHS)
            self.assertEqual(str(caught.exception), message)
            self.assertIn(message, caught.exception.stderr)

    def test_check_false_ignores_failure(self) -> None:
        with FakeCli("fail"):
            self.assertIsNone(announce(PATHS, check=False))

    def test_missing_executable(self) -> None:
        with mock.patch.dict(os.environ, {"S3CACHEFS_BIN": "/nonexistent/s3cachefs --flag"}):
            with self.assertRaises(S3CacheFsError) as caught:
                announce(PATHS)
            self.assertEqual(caught.exception.code, "NO_EXECUTABLE")
            self.assertIn("/nonexistent/s3cachefs", str(caught.exception))
            self.assertIsNone(announce(PATHS, check=False))

    def test_a_cli_that_never_answers_is_killed_at_the_timeout(self) -> None:
        with FakeCli("hang"):
            with self.assertRaises(S3CacheFsError) as caught:
                announce(PATHS, timeout=0.5)
        self.assertEqual(caught.exception.code, "TIMEOUT")


class BadInputTest(unittest.TestCase):
    def test_a_newline_in_a_path_is_a_value_error(self) -> None:
        with FakeCli() as cli:
            with self.assertRaises(ValueError):
                announce(["/mnt/data/a.jpg", "/mnt/data/b\n.jpg"])
            with self.assertRaises(ValueError):
                announce(["/mnt/data/b\n.jpg"], check=False)
            self.assertEqual(cli.runs(), [])

    def test_a_newline_deep_in_a_streamed_list_announces_nothing(self) -> None:
        def paths():
            for i in range(100_000):
                yield f"/mnt/data/img_{i:07d}.JPEG"
            yield "/mnt/data/bad\nname.JPEG"

        with FakeCli() as cli:
            with self.assertRaises(ValueError):
                announce(paths())
            self.assertEqual(cli.runs(), [], "the CLI must never see the end of a partial list")

    def test_empty_and_nul_paths_are_value_errors(self) -> None:
        with FakeCli():
            for bad in ("", "/mnt/data/a\0b"):
                with self.assertRaises(ValueError, msg=repr(bad)):
                    announce([bad])

    def test_one_path_instead_of_a_list_is_a_type_error(self) -> None:
        with FakeCli():
            for single in ("/mnt/data/a.jpg", Path("/mnt/data/a.jpg")):
                with self.assertRaises(TypeError):
                    announce(single)  # type: ignore[arg-type]

    def test_bad_window_values_are_value_errors(self) -> None:
        with FakeCli() as cli:
            for kwargs in ({"window_files": 0}, {"window_files": True}, {"window_files": 2.5},
                           {"window_bytes": -1}, {"window_bytes": ""}, {"window_bytes": 1.5}):
                with self.assertRaises(ValueError, msg=repr(kwargs)):
                    announce(PATHS, **kwargs)  # type: ignore[arg-type]
            self.assertEqual(cli.runs(), [])


if __name__ == "__main__":
    unittest.main()
