"""announce_file_list() on DALI `file_list` files, against a fake `s3cachefs` executable."""
from __future__ import annotations

import os
import tempfile
import unittest

from s3cachefs import announce_file_list

from .fake_cli import FakeCli

# DALI's grammar: path (may hold spaces), whitespace, integer label; blank lines skipped.
FILE_LIST = (
    "n01440764/n01440764_10026.JPEG 0\n"
    "n01443537/a file with spaces.JPEG\t1\n"
    "\n"
    "n01443537/n01443537_1000.JPEG   12  \r\n"
    "  \n"
    "n01440764/n01440764_10027.JPEG 0"  # no final newline
)
RELATIVE = [
    "n01440764/n01440764_10026.JPEG",
    "n01443537/a file with spaces.JPEG",
    "n01443537/n01443537_1000.JPEG",
    "n01440764/n01440764_10027.JPEG",
]


class AnnounceFileListTest(unittest.TestCase):
    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.list_path = os.path.join(self._dir.name, "train.txt")
        with open(self.list_path, "w", newline="") as f:
            f.write(FILE_LIST)

    def tearDown(self) -> None:
        self._dir.cleanup()

    def test_announces_root_slash_path_in_file_order(self) -> None:
        with FakeCli() as cli:
            announce_file_list(self.list_path, root="/mnt/data/train", window_files=32)
            runs = cli.runs()
        self.assertEqual(runs[0]["argv"], ["prefetch", "--list", "-", "--window-files", "32"])
        self.assertEqual(runs[0]["lines"], [f"/mnt/data/train/{p}" for p in RELATIVE])

    def test_without_root_paths_are_relative_to_the_list_as_in_dali(self) -> None:
        with FakeCli() as cli:
            announce_file_list(self.list_path)
            self.assertEqual(cli.runs()[0]["lines"], [os.path.join(self._dir.name, p) for p in RELATIVE])

    def test_a_line_without_a_label_is_refused_with_its_number(self) -> None:
        with open(self.list_path, "a") as f:
            f.write("\nn01440764/no_label.JPEG\n")
        with FakeCli() as cli:
            with self.assertRaisesRegex(ValueError, r"train\.txt:7: expected 'path label'"):
                announce_file_list(self.list_path, root="/mnt/data/train")
            self.assertEqual(cli.runs(), [], "nothing announced from a list DALI would refuse")


if __name__ == "__main__":
    unittest.main()
