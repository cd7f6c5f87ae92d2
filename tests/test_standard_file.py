"""The standard Moving-MNIST file layout (T, N, H, W), on small files written by the test."""

import numpy as np
import pytest
import torch

from lmc.data.moving_mnist import frames_to_tensor, generate_clips
from lmc.data.standard_file import STANDARD_SOURCE, load_standard_file, source_label


def test_time_first_file_comes_back_clip_first(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(5, 3, 64, 64), dtype=np.uint8)  # (T, N, H, W)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, data)
    clips = load_standard_file(path)
    assert clips.shape == (3, 5, 64, 64) and clips.dtype == np.uint8
    for n in range(3):
        for t in range(5):
            assert np.array_equal(clips[n, t], data[t, n])
    assert isinstance(clips, np.memmap) and not clips.flags.writeable  # read lazily, never written
    video = frames_to_tensor(clips[1:])
    assert video.shape == (2, 5, 1, 64, 64) and video.is_contiguous()
    assert torch.equal(video[1, 4, 0], torch.from_numpy(data[4, 2]).float() / 255)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((5, 64, 64), np.uint8), r"shape \(5, 64, 64\), expected 4-D \(T, N, H, W\)"),
        (np.zeros((2, 3, 8, 8), np.float32), "dtype float32, expected uint8"),
        (np.zeros((0, 3, 8, 8), np.uint8), r"empty array of shape \(0, 3, 8, 8\)"),
    ],
)
def test_bad_files_name_what_was_found_and_expected(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(ValueError, match=message):
        load_standard_file(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npy"):
        load_standard_file(tmp_path / "nothing.npy")


def test_source_labels_tell_generated_from_standard():
    assert source_label() == STANDARD_SOURCE == "standard Moving-MNIST file"
    clips = generate_clips(1, 2, seed=3, split="test")
    assert source_label(clips) == "generated Moving-MNIST (seed 3, split test)"
