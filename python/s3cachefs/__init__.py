"""Tell an s3cachefs mount the order in which a training job will read its files.

The daemon then fetches a window of files ahead of the reader and drops what
the reader skipped. Standard library only; torch is optional.

    announce(paths, *, window_files=None, window_bytes=None, check=True)
    AnnouncingSampler(sampler, paths_of, **announce_kwargs)   # PyTorch
    announce_file_list(file_list_path, root=None, **kw)       # DALI file_list

All three post the list to the mount's control socket (a Unix socket found
from the mount point, as the CLI finds it), or run ``s3cachefs prefetch --list -``
when it cannot be found (``$S3CACHEFS_BIN`` overrides the command). AnnouncingSampler is imported on first use, so that code using only
announce() never imports torch.
"""
from __future__ import annotations

from typing import Any

from .prefetch_cli import DEFAULT_TIMEOUT_S, announce
from .dali import announce_file_list
from .errors import S3CacheFsError, S3CacheFsWarning

__version__ = "0.1.0"

__all__ = [
    "AnnouncingSampler",
    "DEFAULT_TIMEOUT_S",
    "S3CacheFsError",
    "S3CacheFsWarning",
    "announce",
    "announce_file_list",
]


def __getattr__(name: str) -> Any:
    # PEP 562: importing the sampler imports torch when it is installed (seconds).
    if name == "AnnouncingSampler":
        from .sampler import AnnouncingSampler
        return AnnouncingSampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
