"""Frame-folder datasets: windows, conversions, bad input, and the decoded-frame cache."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from lmc.data import frame_cache
from lmc.data.folders import FrameFolderDataset, FrameFolderError, write_video_frames


def frames(t, h=6, w=8, c=None, seed=0):
    shape = (t, h, w) if c is None else (t, h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def as_uint8(clip: torch.Tensor) -> np.ndarray:
    return (clip * 255).round().to(torch.uint8).numpy()


@pytest.fixture
def two_videos(tmp_path):
    """video_00000 with 25 frames, video_00001 with 7, and their arrays."""
    root = tmp_path / "root"
    a, b = frames(25, seed=1), frames(7, seed=2)
    write_video_frames(root / "video_00000", a)
    write_video_frames(root / "video_00001", b)
    return root, a, b


def test_train_windows_stride_one_and_short_video_warned(two_videos):
    root, a, _ = two_videos
    with pytest.warns(UserWarning, match=r"skipping video .*video_00001: 7 frames.*clip of 10"):
        ds = FrameFolderDataset(root, 10)
    assert len(ds) == 16 and ds.clips_per_video == [16, 0]
    assert ds.num_videos == 2 and ds.video_names == ["video_00000", "video_00001"]
    for i in (0, 5, 15, -1):
        clip = ds[i]
        start = i % 16
        assert clip.shape == (10, 1, 6, 8) and clip.dtype == torch.float32
        assert 0 <= clip.min() and clip.max() <= 1
        np.testing.assert_array_equal(as_uint8(clip)[:, 0], a[start : start + 10])
        assert ds.video_of(i) == 0 and ds.frame_range(i) == (start, start + 10)
    with pytest.raises(IndexError, match="clip index 16 out of range for 16 clips"):
        ds[16]


def test_test_windows_do_not_overlap(two_videos):
    root, a, _ = two_videos
    with pytest.warns(UserWarning, match="video_00001"):
        ds = FrameFolderDataset(root, 10, split="test")
    assert len(ds) == 2 and ds.clips_per_video == [2, 0]
    assert [ds.frame_range(i) for i in range(2)] == [(0, 10), (10, 20)]
    np.testing.assert_array_equal(as_uint8(ds[1])[:, 0], a[10:20])


def test_clips_from_several_videos_map_back(tmp_path):
    root = tmp_path / "root"
    a, b = frames(4, seed=1), frames(5, seed=2)
    write_video_frames(root / "video_00000", a)
    write_video_frames(root / "video_00001", b, meta={"action": "boxing", "label": 0})
    ds = FrameFolderDataset(root, 3)
    assert ds.clips_per_video == [2, 3] and len(ds) == 5
    assert [ds.video_of(i) for i in range(5)] == [0, 0, 1, 1, 1]
    np.testing.assert_array_equal(as_uint8(ds[4])[:, 0], b[2:5])
    assert ds.metadata == [{}, {"action": "boxing", "label": 0}]


def test_write_video_frames_names_and_refusals(tmp_path):
    video = tmp_path / "video_00000"
    paths = write_video_frames(video, frames(3, c=3), ext="jpg", meta={"k": 1})
    assert [p.name for p in paths] == ["frame_00000.jpg", "frame_00001.jpg", "frame_00002.jpg"]
    assert json.loads((video / "meta.json").read_text()) == {"k": 1}
    with pytest.raises(FileExistsError, match="video_00000 already exists"):
        write_video_frames(video, frames(2))
    write_video_frames(video, frames(2), overwrite=True)
    assert sorted(p.name for p in video.iterdir()) == ["frame_00000.png", "frame_00001.png"]
    with pytest.raises(ValueError, match="uint8.*float64"):
        write_video_frames(tmp_path / "v", np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="unknown frame format 'gif'"):
        write_video_frames(tmp_path / "v", frames(2), ext="gif")
    with pytest.raises(ValueError, match=r"got shape \(2, 4, 4, 2\)"):
        write_video_frames(tmp_path / "v", np.zeros((2, 4, 4, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video_00000"]  # no temp folders left


def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        FrameFolderDataset(tmp_path / "nowhere", 2)


def test_hidden_entries_and_top_level_files_are_ignored(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(3))
    (root / "README.txt").write_text("not a video")
    (root / ".partial").mkdir()
    (root / ".partial" / "junk.txt").write_text("x")
    (root / "video_00000" / ".DS_Store").write_bytes(b"\0\1")
    ds = FrameFolderDataset(root, 3)
    assert ds.video_names == ["video_00000"] and len(ds) == 1


def test_non_image_file_in_a_video_names_its_path(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(3))
    (root / "video_00000" / "notes.txt").write_text("x")
    with pytest.raises(FrameFolderError, match=r"video_00000/notes\.txt"):
        FrameFolderDataset(root, 3)


def test_unreadable_image_names_its_path(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(3))
    (root / "video_00000" / "frame_00001.png").write_bytes(b"not a png at all")
    with pytest.raises(FrameFolderError, match=r"cannot read image .*frame_00001\.png"):
        FrameFolderDataset(root, 3, cache_dir=tmp_path / "cache")


def test_no_clip_says_frames_needed_and_longest(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(7))
    write_video_frames(root / "video_00001", frames(4))
    with (
        pytest.warns(UserWarning),
        pytest.raises(
            FrameFolderError, match="a clip needs 10 frames and the longest of its 2 videos has 7"
        ),
    ):
        FrameFolderDataset(root, 10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameFolderError, match="no video folders"):
        FrameFolderDataset(tmp_path / "empty", 10)


def test_frames_of_different_sizes_name_both(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(3, h=6, w=8))
    Image.fromarray(frames(1, h=5, w=8)[0]).save(root / "video_00000" / "frame_00002.png")
    with pytest.raises(FrameFolderError, match=r"frame_00000\.png is 6x8, frame_00002\.png is 5x8"):
        FrameFolderDataset(root, 3)


def test_videos_of_different_sizes_need_a_resize(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(3, h=6, w=8))
    write_video_frames(root / "video_00001", frames(3, h=4, w=4))
    with pytest.raises(FrameFolderError, match=r"6x8.*video_00001.* 4x4; pass size="):
        FrameFolderDataset(root, 3)
    assert FrameFolderDataset(root, 3, size=4)[1].shape == (3, 1, 4, 4)


def test_gray_and_rgb_conversions(tmp_path):
    rgb, gray = frames(2, c=3, seed=3), frames(2, seed=4)
    write_video_frames(tmp_path / "rgb" / "video_00000", rgb)
    write_video_frames(tmp_path / "gray" / "video_00000", gray)
    as_gray = FrameFolderDataset(tmp_path / "rgb", 2, channels=1)[0]
    expected = np.stack([np.asarray(Image.fromarray(f).convert("L")) for f in rgb])
    np.testing.assert_array_equal(as_uint8(as_gray)[:, 0], expected)
    as_rgb = FrameFolderDataset(tmp_path / "rgb", 2, channels=3)[0]
    np.testing.assert_array_equal(as_uint8(as_rgb), rgb.transpose(0, 3, 1, 2))
    replicated = as_uint8(FrameFolderDataset(tmp_path / "gray", 2, channels=3)[0])
    for c in range(3):
        np.testing.assert_array_equal(replicated[:, c], gray)


def test_resize_matches_pil_bilinear(tmp_path):
    src = frames(2, h=12, w=16)
    write_video_frames(tmp_path / "r" / "video_00000", src)
    square = FrameFolderDataset(tmp_path / "r", 2, size=4)[0]
    rect = FrameFolderDataset(tmp_path / "r", 2, size=(6, 5))[0]
    assert square.shape == (2, 1, 4, 4) and rect.shape == (2, 1, 6, 5)
    pil = np.asarray(Image.fromarray(src[1]).resize((5, 6), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(as_uint8(rect)[1, 0], pil)


def test_bad_arguments_name_the_value(tmp_path, two_videos):
    root = two_videos[0]
    with pytest.raises(ValueError, match="unknown split 'val'; valid splits: train, test"):
        FrameFolderDataset(root, 2, split="val")
    with pytest.raises(ValueError, match="channels must be 1 .* or 3 .*got 4"):
        FrameFolderDataset(root, 2, channels=4)
    with pytest.raises(ValueError, match="clip_len must be a positive int, got 0"):
        FrameFolderDataset(root, 0)
    with pytest.raises(ValueError, match=r"size must be .* got \(4, 0\)"):
        FrameFolderDataset(root, 2, size=(4, 0))


def _no_decoding(*args, **kwargs):
    raise AssertionError("decoded a frame although the cache is up to date")


def test_cache_is_built_once_and_rebuilt_after_a_change(two_videos, monkeypatch):
    root, a, _ = two_videos
    first = FrameFolderDataset(root, 5)
    cache_files = sorted(p.name for p in (root / ".lmc-cache").iterdir())
    with monkeypatch.context() as patch:
        patch.setattr(frame_cache, "decode_frame", _no_decoding)
        again = FrameFolderDataset(root, 5)
        torch.testing.assert_close(again[3], first[3], rtol=0, atol=0)
        with pytest.warns(UserWarning):
            FrameFolderDataset(root, 10, split="test")  # other windows, same decoded frames

    changed = a[4].copy()
    changed[0, 0] ^= 0xFF
    path = root / "video_00000" / "frame_00004.png"
    Image.fromarray(changed).save(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with monkeypatch.context() as patch:
        patch.setattr(frame_cache, "decode_frame", _no_decoding)
        with pytest.raises(AssertionError, match="decoded a frame"):
            FrameFolderDataset(root, 5)
    rebuilt = FrameFolderDataset(root, 5)
    np.testing.assert_array_equal(as_uint8(rebuilt[0])[4, 0], changed)
    now = sorted(p.name for p in (root / ".lmc-cache").iterdir())
    assert len(now) == len(cache_files) == 2 and now != cache_files  # old array removed


def test_interrupted_build_leaves_no_trusted_cache(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(4))
    real = frame_cache.decode_frame
    calls = []

    def dies_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(frame_cache, "decode_frame", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        FrameFolderDataset(root, 2)
    assert list((root / ".lmc-cache").iterdir()) == []  # no index, no temp array
    monkeypatch.setattr(frame_cache, "decode_frame", real)
    assert len(FrameFolderDataset(root, 2)) == 3


def test_cache_dir_choice(tmp_path, two_videos, monkeypatch):
    root = two_videos[0]
    FrameFolderDataset(root, 5, cache_dir=tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "frames-c1-native.json").is_file()
    assert not (root / ".lmc-cache").exists()
    monkeypatch.setattr(frame_cache.os, "access", lambda path, mode: False)
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "shared"))
    chosen = frame_cache.default_cache_dir(root)
    assert chosen.parent == tmp_path / "shared" / "folders" and len(chosen.name) == 16


def test_pickles_without_the_mapped_array(two_videos):
    root = two_videos[0]
    ds = FrameFolderDataset(root, 5)
    first = ds[2]
    restored = pickle.loads(pickle.dumps(ds))
    assert restored._frames is None
    torch.testing.assert_close(restored[2], first, rtol=0, atol=0)


@pytest.fixture
def planted(tmp_path):
    """A built cache, and a victim array outside it shaped like the cache's own array (so that
    a loader that followed a planted name would accept it)."""
    root = tmp_path / "root"
    video = frames(4)
    write_video_frames(root / "video_00000", video)
    FrameFolderDataset(root, 2)
    index_path = root / ".lmc-cache" / "frames-c1-native.json"
    index = json.loads(index_path.read_text())
    victim = tmp_path / "victim.npy"
    np.save(victim, np.full(index["shape"], 7, np.uint8))
    return root, video, index_path, index, victim


def _plant(index_path, index, victim, how):
    own = index_path.parent / index["array"]
    if how == "link":  # the index's own name, made a link out of the cache
        own.unlink()
        own.symlink_to(victim)
        return
    index["array"] = {"relative": "../../victim.npy", "absolute": str(victim)}[how]
    index_path.write_text(json.dumps(index))


@pytest.mark.parametrize("how", ["relative", "absolute", "link"])
def test_a_planted_cache_index_reads_nothing_outside(planted, how, caplog):
    root, video, index_path, index, victim = planted
    own = index_path.parent / index["array"]
    _plant(index_path, index, victim, how)
    ds = FrameFolderDataset(root, 2)
    np.testing.assert_array_equal(as_uint8(ds[2])[:, 0], video[2:4])  # decoded anew, not 7s
    assert "ignoring the frame cache index" in caplog.text
    assert np.load(victim).max() == 7 and victim.is_file()
    assert own.is_file() and not own.is_symlink()  # the same name, now a real array again
    assert json.loads(index_path.read_text())["array"] == own.name


@pytest.mark.parametrize("how", ["relative", "absolute", "link"])
def test_a_planted_cache_index_deletes_nothing_outside(planted, how):
    root, _, index_path, index, victim = planted
    _plant(index_path, index, victim, how)
    changed = root / "video_00000" / "frame_00001.png"  # a new fingerprint: a rebuild that
    Image.fromarray(frames(1, seed=9)[0]).save(changed)  # deletes the array it replaces
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    FrameFolderDataset(root, 2)
    assert victim.is_file() and np.load(victim).max() == 7
    # What the planted index named is left alone, and so is the array it no longer names.
    assert len(list(index_path.parent.iterdir())) == 3


# ------------------------------------------------------------------- what a folder may decode
def png_declaring(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR (CRC fixed up) declares width x height: the header of a huge frame
    without its pixels."""
    import io
    import struct
    import zlib

    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_frame_declaring_6000x6000_is_refused_before_it_is_decoded(tmp_path):
    (tmp_path / "root" / "video_00000").mkdir(parents=True)
    for t in range(3):
        (tmp_path / "root" / "video_00000" / f"frame_{t}.png").write_bytes(
            png_declaring(6000, 6000)
        )
    with pytest.raises(FrameFolderError) as info:
        FrameFolderDataset(tmp_path / "root", 2, size=64)
    assert str(info.value).endswith(
        "frame_0.png declares 6000x6000 = 36,000,000 pixels; a frame file may hold at most 16,777,216"
    )


def test_a_folder_is_held_to_its_cache_bytes_before_the_cache_is_allocated(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(4))  # 4 frames of 6x8 gray: 192 bytes
    limits = frame_cache.FrameLimits(cache_bytes=191)
    with pytest.raises(FrameFolderError) as info:
        FrameFolderDataset(root, 2, limits=limits)
    assert str(info.value) == (
        f"{root} decodes to 4 frames of 1x6x8 = 192 bytes; the limit for a frame folder is 191 "
        "bytes (pass a smaller size, or use fewer videos)"
    )
    assert not list((root / ".lmc-cache").glob("*.npy"))  # nothing allocated
    FrameFolderDataset(root, 2, limits=frame_cache.FrameLimits(cache_bytes=192))
    # A cache built under a higher limit is held to a lower one when it is opened again.
    with pytest.raises(FrameFolderError, match="the limit for a frame folder is 191 bytes"):
        FrameFolderDataset(root, 2, limits=limits)
    with pytest.raises(FrameFolderError, match="a frame file may hold at most 47"):
        FrameFolderDataset(root, 2, size=4, limits=frame_cache.FrameLimits(frame_pixels=47))


def test_a_meta_json_nested_100000_deep_is_a_frame_folder_error(tmp_path):
    root = tmp_path / "root"
    write_video_frames(root / "video_00000", frames(4))
    (root / "video_00000" / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FrameFolderError, match="cannot read video metadata .*maximum recursion"):
        FrameFolderDataset(root, 2)
