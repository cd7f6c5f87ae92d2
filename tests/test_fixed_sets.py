"""Fixed evaluation sets: written once, reloaded identically, regenerated when stale."""

import json
import os

import numpy as np
import pytest

from lmc.data import fixed_sets
from lmc.data.fixed_sets import default_cache_root, fixed_set
from lmc.data.moving_mnist import generate_clips

ARRAYS = ("frames", "positions", "continuous_positions", "velocities", "labels", "digit_indices")


def assert_same_clips(a, b):
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
    assert (a.seed, a.split) == (b.seed, b.split)


def test_written_once_then_reloaded_identically(tmp_path, monkeypatch):
    first = fixed_set("val", 4, 6, root=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"val-seed1001-n4-t6-d2-s64-step0.1{ext}" for ext in (".json", ".npy", ".npz")]
    assert_same_clips(first, generate_clips(4, 6, seed=1001, split="val"))
    umask = os.umask(0)
    os.umask(umask)
    # A shared cache: the files follow the umask, unlike tempfile's private 0600 files.
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o666 & ~umask}

    def no_generation(*args, **kwargs):
        raise AssertionError("the set should have been loaded, not generated")

    monkeypatch.setattr(fixed_sets, "generate_clips", no_generation)
    assert_same_clips(fixed_set("val", 4, 6, root=tmp_path), first)


def test_other_parameters_make_another_set(tmp_path):
    base = fixed_set("test", 3, 5, root=tmp_path)
    assert base.seed == 2002 and base.split == "test"
    faster = fixed_set("test", 3, 5, root=tmp_path, step=0.2)
    assert not np.array_equal(faster.frames, base.frames)
    other_seed = fixed_set("test", 3, 5, root=tmp_path, seed=9)
    assert not np.array_equal(other_seed.frames, base.frames)
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_stale_metadata_is_regenerated(tmp_path):
    clips = fixed_set("val", 2, 4, root=tmp_path)
    (meta_path,) = tmp_path.glob("*.json")
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "generator_version": -1}))
    np.save(next(tmp_path.glob("*.npy")), np.zeros_like(clips.frames))  # a stale set's frames
    assert_same_clips(fixed_set("val", 2, 4, root=tmp_path), clips)
    assert json.loads(meta_path.read_text()) == meta
    assert not list(tmp_path.glob(".*.tmp"))  # temporary files are renamed, never left behind


def test_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_root() == tmp_path / "cache" / "moving_mnist"
    monkeypatch.delenv("LMC_CACHE_DIR")
    monkeypatch.chdir(tmp_path)
    assert default_cache_root() == tmp_path / ".lmc-cache" / "moving_mnist"


def test_defaults_per_split_and_bad_split():
    assert fixed_sets.DEFAULT_NUM_CLIPS == {"val": 500, "test": 1000}
    assert fixed_sets.DEFAULT_SEEDS == {"val": 1001, "test": 2002}
    with pytest.raises(ValueError, match="no fixed set for split 'train'; valid splits: val, test"):
        fixed_set("train", 2, 4)
    with pytest.raises(ValueError, match="num_clips=0: must be an integer >= 1"):
        fixed_set("val", 0, 4)
