"""announce_file_list(): announce the files of a DALI ``file_list`` in file order.

DALI's file reader (``fn.readers.file(file_list=…)``) takes a text file of
``path label`` lines. It parses each line from the end: trailing whitespace,
then an integer label, then whitespace; the rest is the path, which may hold
spaces. Blank lines are skipped. Paths are relative to ``file_root``, or to
the list's own directory when ``file_root`` is not given. This module parses
the same way, so the announced paths are the files DALI opens.

The order announced is the order of the lines: DALI reads in that order when
``random_shuffle`` and ``shuffle_after_epoch`` are off. To read in a random
order, shuffle the lines yourself each epoch (write a new list, announce it,
build the pipeline) rather than letting DALI shuffle.
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterator, Optional, Union

from .prefetch_cli import announce

# path, whitespace, integer label, optional trailing whitespace (DALI's own grammar).
_LINE = re.compile(r"^(?P<path>.*?)\s+(?P<label>\d+)\s*$", re.ASCII)  # ASCII: C isspace/isdigit


def announce_file_list(file_list_path: Union[str, "os.PathLike[str]"],
                       root: Union[str, "os.PathLike[str]", None] = None, **kw: Any) -> None:
    """Announce ``root/path`` for each ``path label`` line of a DALI file list, in order.

    Args:
        file_list_path: the list file, as given to DALI's ``file_list``.
        root: DALI's ``file_root``; None: the list's directory, as DALI does.
        **kw: passed to announce() (``window_files``, ``window_bytes``,
            ``check``, ``timeout``).

    Raises ValueError naming the line when a non-blank line has no label
    (DALI refuses such a list too), and whatever announce() raises.
    """
    file_list_path = os.fspath(file_list_path)
    base = os.path.dirname(file_list_path) if root is None else os.fspath(root)
    announce(file_list_paths(file_list_path, base), **kw)


def file_list_paths(file_list_path: str, root: str) -> Iterator[str]:
    """The paths of a DALI file list joined to ``root``, lazily, in file order."""
    # surrogateescape: file names that are not UTF-8 come back as their exact bytes.
    with open(file_list_path, encoding="utf-8", errors="surrogateescape", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            path = parse_line(line, file_list_path, number)
            if path is not None:
                yield os.path.join(root, path) if root else path


def parse_line(line: str, file_list_path: str, number: int) -> Optional[str]:
    """The path of one ``path label`` line; None for a blank line."""
    text = line.rstrip("\n")
    if not text.strip():
        return None
    match = _LINE.match(text)
    if match is None or not match.group("path"):
        raise ValueError(f"{file_list_path}:{number}: expected 'path label' (DALI file_list format), "
                         f"got {text!r}")
    return match.group("path")
