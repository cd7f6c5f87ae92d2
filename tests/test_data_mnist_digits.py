"""The shipped MNIST test digits: parsing, checksums, disjoint pools."""

import gzip
import hashlib
import re
import shutil

import numpy as np
import pytest

from lmc.data import mnist_digits
from lmc.data.mnist_digits import SPLITS, digit_pool, load_mnist_digits


def test_digits_parse_to_the_mnist_test_set():
    images, labels = load_mnist_digits()
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    # The first ten labels of the canonical MNIST test file.
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert sorted(np.unique(labels).tolist()) == list(range(10))
    assert images.max() == 255 and images.min() == 0
    assert not images.flags.writeable  # the cached copy is shared


def test_pools_are_disjoint_and_cover_every_digit():
    pools = [digit_pool(split) for split in SPLITS]
    joined = np.concatenate(pools)
    assert len(joined) == len(np.unique(joined)) == 10_000
    assert joined.min() == 0 and joined.max() == 9_999
    assert [len(p) for p in pools] == [8_000, 1_000, 1_000]


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'training'.*train, val, test"):
        digit_pool("training")


def test_corrupted_file_names_file_and_both_digests(tmp_path):
    for name in mnist_digits.SHA256:
        shutil.copy(mnist_digits.MNIST_DIR / name, tmp_path / name)
    target = tmp_path / mnist_digits.IMAGES_FILE
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    expected = mnist_digits.SHA256[mnist_digits.IMAGES_FILE]
    pattern = f"{re.escape(str(target))}.*{actual}.*{expected}"
    with pytest.raises(ValueError, match=pattern):
        load_mnist_digits(tmp_path)


def test_wrong_magic_number_is_named(tmp_path):
    path = tmp_path / "labels-as-images.gz"
    header = np.array([2049, 10_000], dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(10_000)))
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        mnist_digits._read_idx(path, mnist_digits.IMAGES_MAGIC, (28, 28))
