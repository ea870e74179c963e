"""AnnouncingSampler: a sampler wrapper that tells s3cachefs each epoch's read order.

At the start of every epoch it draws the wrapped sampler's whole order (one
pass), hands the matching file paths to announce(), then yields the indices in
that same order. The DataLoader's workers open the files in (nearly) that
order, and the daemon keeps a window of them fetched ahead.

torch is optional: when it can be imported, the class also subclasses
torch.utils.data.Sampler; otherwise it is a plain iterable (duck typing is all
DataLoader needs). This module is imported lazily by the package so that
``from s3cachefs import announce`` never pays for importing torch.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence

from .prefetch_cli import announce, prefetch_args
from .errors import S3CacheFsError, S3CacheFsWarning

try:  # optional: never required
    from torch.utils.data import Sampler as _SamplerBase
except (ImportError, OSError):  # OSError: a torch install with broken native libraries
    _SamplerBase = object  # type: ignore[assignment,misc]

# Keyword arguments announce() takes besides the paths.
_ANNOUNCE_KWARGS = frozenset({"window_files", "window_bytes", "check", "timeout"})

# Dataset attributes holding one entry per index: a path, or a tuple whose first
# item is the path (torchvision ImageFolder/DatasetFolder: samples[i] = (path, class)).
_PATH_ATTRIBUTES = ("samples", "imgs", "files")

PathsOf = Callable[[int], Any]


class AnnouncingSampler(_SamplerBase):  # type: ignore[misc,valid-type]
    """Wraps ``sampler`` and announces each epoch's order of files to s3cachefs.

    Args:
        sampler: any iterable of dataset indices with a fresh order per
            ``iter()`` (torch RandomSampler, DistributedSampler, a list, …).
        paths_of: index -> path: a callable, or a dataset with ``.samples`` or
            ``.imgs`` (torchvision ImageFolder) or ``.files``, or a
            ``torch.utils.data.Subset`` of one (``.dataset`` and ``.indices``).
        **announce_kwargs: passed to announce(): ``window_files``,
            ``window_bytes``, ``check``, ``timeout``.

    A failure to announce (not an s3cachefs mount, daemon gone, a path with a
    newline, an error in ``paths_of``) never stops training: it emits one
    S3CacheFsWarning per sampler, and the indices are yielded all the same.
    With ``check=False`` failures are ignored without a warning.
    """

    def __init__(self, sampler: Iterable[int], paths_of: Any, **announce_kwargs: Any) -> None:
        # torch's Sampler.__init__ is not called: it does nothing useful, and its
        # signature changed across versions (data_source required, then deprecated).
        unknown = set(announce_kwargs) - _ANNOUNCE_KWARGS
        if unknown:
            raise TypeError(f"AnnouncingSampler: unexpected keyword argument(s) {sorted(unknown)}; "
                            f"announce() takes {sorted(_ANNOUNCE_KWARGS)}")
        prefetch_args(announce_kwargs.get("window_files"), announce_kwargs.get("window_bytes"))
        self.sampler = sampler
        self._paths_of = path_getter(paths_of)
        self._announce_kwargs: Dict[str, Any] = dict(announce_kwargs)
        self._warned = False

    def __iter__(self) -> Iterator[int]:
        order = list(self.sampler)  # INVARIANT: one pass per epoch; announced == yielded
        self._announce(order)
        return iter(order)

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        """Forwards to the wrapped sampler (DistributedSampler reseeds its shuffle with it)."""
        set_epoch = getattr(self.sampler, "set_epoch", None)
        if set_epoch is None:
            raise AttributeError(f"{type(self.sampler).__name__} has no set_epoch()")
        set_epoch(epoch)

    def _announce(self, order: Sequence[int]) -> None:
        try:
            paths_of = self._paths_of()
            announce((paths_of(index) for index in order), **self._announce_kwargs)
        except Exception as err:  # advisory only: nothing here may stop an epoch
            if not self._warned:
                self._warned = True
                reason = str(err) if isinstance(err, S3CacheFsError) else f"{type(err).__name__}: {err}"
                warnings.warn(f"could not announce this epoch's read order to s3cachefs; "
                              f"training goes on without its prefetch: {reason}",
                              S3CacheFsWarning, stacklevel=3)


def path_getter(paths_of: Any) -> Callable[[], PathsOf]:
    """Turns ``paths_of`` into a function returning, per epoch, an index -> path callable.

    Dataset attributes are read again every epoch, so a dataset whose sample
    list is replaced between epochs is followed.
    """
    for name in _PATH_ATTRIBUTES:
        if getattr(paths_of, name, None) is not None:
            return lambda name=name: _entries_lookup(getattr(paths_of, name))
    dataset, indices = getattr(paths_of, "dataset", None), getattr(paths_of, "indices", None)
    if dataset is not None and indices is not None:  # torch.utils.data.Subset
        inner = path_getter(dataset)
        return lambda: _subset_lookup(inner(), paths_of.indices)
    if callable(paths_of):
        return lambda: paths_of
    raise TypeError("paths_of must be a callable index -> path, or a dataset with .samples, "
                    f".imgs or .files (or a Subset of one); got {type(paths_of).__name__}")


def _entries_lookup(entries: Sequence[Any]) -> PathsOf:
    def lookup(index: int) -> Any:
        entry = entries[index]
        if isinstance(entry, (tuple, list)):
            return entry[0]
        return entry
    return lookup


def _subset_lookup(inner: PathsOf, indices: Sequence[int]) -> PathsOf:
    return lambda index: inner(indices[index])


__all__: List[str] = ["AnnouncingSampler", "path_getter"]
