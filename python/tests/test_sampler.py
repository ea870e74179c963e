"""AnnouncingSampler without torch (duck typing) against a fake `s3cachefs` executable."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import textwrap
import unittest
import warnings
from typing import Iterator, List

from s3cachefs import AnnouncingSampler, S3CacheFsWarning

from .fake_cli import FakeCli

PYTHON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeImageFolder:
    """What AnnouncingSampler reads of torchvision's ImageFolder: samples[i] = (path, class)."""

    def __init__(self, count: int) -> None:
        self.samples = [(f"/mnt/data/train/c{i % 3}/img_{i}.jpg", i % 3) for i in range(count)]


class ShuffleSampler:
    """Like torch's RandomSampler: a new permutation per iter(); counts the passes."""

    def __init__(self, count: int, seed: int = 7) -> None:
        self.count = count
        self.passes = 0
        self.epochs_set: List[int] = []
        self._rng = random.Random(seed)

    def __iter__(self) -> Iterator[int]:
        self.passes += 1
        order = list(range(self.count))
        self._rng.shuffle(order)
        return iter(order)

    def __len__(self) -> int:
        return self.count

    def set_epoch(self, epoch: int) -> None:
        self.epochs_set.append(epoch)


def path_of(index: int) -> str:
    return f"/mnt/data/flat/{index:04d}.bin"


class AnnouncingSamplerTest(unittest.TestCase):
    def test_yields_the_sampler_order_and_announces_its_paths_from_samples(self) -> None:
        dataset, inner = FakeImageFolder(50), ShuffleSampler(50)
        with FakeCli() as cli:
            yielded = list(AnnouncingSampler(inner, dataset))
            runs = cli.runs()
        self.assertEqual(inner.passes, 1, "one pass over the wrapped sampler per epoch")
        self.assertEqual(sorted(yielded), list(range(50)))
        self.assertNotEqual(yielded, list(range(50)), "the shuffled order, not the identity")
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["argv"], ["prefetch", "--list", "-"])
        self.assertEqual(runs[0]["lines"], [dataset.samples[i][0] for i in yielded])

    def test_yields_the_order_of_a_plain_list_with_a_callable(self) -> None:
        order = [5, 3, 9, 0, 3]
        with FakeCli() as cli:
            yielded = list(AnnouncingSampler(order, path_of, window_files=8))
            runs = cli.runs()
        self.assertEqual(yielded, order)
        self.assertEqual(runs[0]["lines"], [path_of(i) for i in order])
        self.assertEqual(runs[0]["argv"], ["prefetch", "--list", "-", "--window-files", "8"])

    def test_announces_before_the_first_index(self) -> None:
        with FakeCli() as cli:
            indices = iter(AnnouncingSampler(ShuffleSampler(10), path_of))
            next(indices)
            self.assertEqual(len(cli.runs()), 1)

    def test_each_epoch_announces_its_own_new_order(self) -> None:
        dataset, inner = FakeImageFolder(40), ShuffleSampler(40)
        sampler = AnnouncingSampler(inner, dataset)
        with FakeCli() as cli:
            first, second = list(sampler), list(sampler)
            runs = cli.runs()
        self.assertNotEqual(first, second)
        self.assertEqual(inner.passes, 2)
        self.assertEqual([run["lines"] for run in runs],
                         [[dataset.samples[i][0] for i in epoch] for epoch in (first, second)])

    def test_a_failed_announcement_warns_once_and_still_yields(self) -> None:
        inner = ShuffleSampler(20)
        sampler = AnnouncingSampler(inner, path_of)
        with FakeCli("fail"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            epochs = [list(sampler), list(sampler)]
        for epoch in epochs:
            self.assertEqual(sorted(epoch), list(range(20)))
        self.assertEqual(len(caught), 1, [str(w.message) for w in caught])
        self.assertIs(caught[0].category, S3CacheFsWarning)
        self.assertIn("s3cachefs: not an s3cachefs mount", str(caught[0].message))

    def test_an_unannounceable_path_warns_and_still_yields(self) -> None:
        with FakeCli() as cli, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yielded = list(AnnouncingSampler([0, 1], lambda i: f"/mnt/data/bad\n{i}"))
            self.assertEqual(cli.runs(), [])
        self.assertEqual(yielded, [0, 1])
        self.assertEqual([w.category for w in caught], [S3CacheFsWarning])

    def test_len_and_set_epoch_reach_the_wrapped_sampler(self) -> None:
        inner = ShuffleSampler(12)
        sampler = AnnouncingSampler(inner, path_of)
        self.assertEqual(len(sampler), 12)
        sampler.set_epoch(3)
        self.assertEqual(inner.epochs_set, [3])
        self.assertIs(sampler.sampler, inner)

    def test_imgs_files_and_subsets(self) -> None:
        class Imgs:
            imgs = [("/mnt/d/a", 0), ("/mnt/d/b", 1)]

        class Files:
            files = ["/mnt/d/x", "/mnt/d/y"]

        class Subset:  # torch.utils.data.Subset's shape
            dataset = FakeImageFolder(6)
            indices = [4, 2]

        with FakeCli() as cli:
            list(AnnouncingSampler([1, 0], Imgs()))
            list(AnnouncingSampler([1, 0], Files()))
            list(AnnouncingSampler([1, 0], Subset()))
            lines = [run["lines"] for run in cli.runs()]
        self.assertEqual(lines, [["/mnt/d/b", "/mnt/d/a"], ["/mnt/d/y", "/mnt/d/x"],
                                 ["/mnt/data/train/c2/img_2.jpg", "/mnt/data/train/c1/img_4.jpg"]])

    def test_bad_arguments_fail_at_construction(self) -> None:
        with self.assertRaises(TypeError):
            AnnouncingSampler([0], object())
        with self.assertRaises(TypeError):
            AnnouncingSampler([0], path_of, window=4)
        with self.assertRaises(ValueError):
            AnnouncingSampler([0], path_of, window_files=0)


class TorchIntegrationTest(unittest.TestCase):
    """Runs in child interpreters, so that a fake or hidden torch does not leak into other tests."""

    def run_python(self, code: str, extra_path: str = "") -> str:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (extra_path, PYTHON_ROOT) if p),
                   PYTHONDONTWRITEBYTECODE="1")
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout.strip()

    def test_subclasses_torch_sampler_when_torch_is_importable(self) -> None:
        with tempfile.TemporaryDirectory() as fake_site:
            package = os.path.join(fake_site, "torch", "utils", "data")
            os.makedirs(package)
            for directory in ("torch", "torch/utils"):
                open(os.path.join(fake_site, directory, "__init__.py"), "w").close()
            with open(os.path.join(package, "__init__.py"), "w") as f:
                # torch 1.x's signature: data_source required, so it must not be called.
                f.write("class Sampler:\n    def __init__(self, data_source):\n        raise AssertionError\n")
            out = self.run_python("""
                import sys, s3cachefs
                before = "torch" in sys.modules
                from s3cachefs import AnnouncingSampler
                from torch.utils.data import Sampler
                s = AnnouncingSampler([2, 1], lambda i: f"/x/{i}", check=False)
                print(before, issubclass(AnnouncingSampler, Sampler), len(s))
            """, fake_site)
        self.assertEqual(out, "False True 2", "torch imported only with the sampler, then subclassed")

    def test_works_when_torch_cannot_be_imported(self) -> None:
        out = self.run_python("""
            import sys
            sys.modules["torch"] = None  # makes `import torch` raise ImportError
            from s3cachefs import AnnouncingSampler
            print(AnnouncingSampler.__mro__[1].__name__, list(AnnouncingSampler([2, 1], str, check=False)))
        """)
        self.assertEqual(out, "object [2, 1]")


if __name__ == "__main__":
    unittest.main()
