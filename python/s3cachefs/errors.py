"""The error and warning classes of the s3cachefs Python package.

Every failure to hand a read order to the daemon is an S3CacheFsError with a
stable ``code``; its message is the CLI's own one-line diagnostic
(``s3cachefs: …``) when the CLI gave one.
"""
from __future__ import annotations

from typing import Optional


class S3CacheFsError(RuntimeError):
    """`s3cachefs prefetch` could not take the list.

    Attributes:
        code: stable identifier of the situation:
            ``PREFETCH_FAILED`` the CLI exited non-zero (not an s3cachefs mount,
            daemon gone, bad flag, …); ``NO_EXECUTABLE`` the CLI could not be
            started; ``TIMEOUT`` it did not finish within ``timeout`` seconds;
            ``LIST_NOT_READ`` it exited 0 without reading the whole list.
        returncode: the CLI's exit status (negative: killed by that signal),
            or None when it never ran.
        stderr: everything the CLI wrote on stderr (decoded, possibly empty).
    """

    def __init__(self, message: str, *, code: str, returncode: Optional[int] = None,
                 stderr: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.returncode = returncode
        self.stderr = stderr


class S3CacheFsWarning(RuntimeWarning):
    """Announcing a read order failed; reading goes on without prefetch.

    Emitted (once per AnnouncingSampler) instead of raising, so that a training
    job outside an s3cachefs mount, or with the daemon gone, still trains.
    Filter it with ``warnings.filterwarnings("ignore", category=S3CacheFsWarning)``.
    """
