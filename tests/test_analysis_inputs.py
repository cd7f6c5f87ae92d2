import io
import math
import zipfile

import numpy as np
import pytest
from PIL import Image

from lmc.analysis.inputs import (
    Clip,
    InputError,
    check_clip,
    clip_collection,
    default_short_len,
    guess_layout,
    match_channels,
    resize_frames,
)
from lmc.analysis.probe import (
    bounce_frames,
    max_probe_speed,
    motion_probe,
    motion_summary,
    probe_velocity,
)
from lmc.analysis.uploads import array_to_clip_frames, decode_upload


def distinct_frames(t=10, h=32, w=48, seed=0) -> np.ndarray:
    """uint8 (T, H, W) frames that all differ (a GIF writer merges equal neighbours)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(t, h, w), dtype=np.uint8)


def png_bytes(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="PNG")
    return out.getvalue()


def test_gif_decodes_to_the_exact_frames():
    # Even grey levels only: a GIF frame holds at most 256 colours, and Pillow's writer keeps
    # one palette entry for the transparency of its difference frames.
    frames = distinct_frames() // 2 * 2
    out = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100)
    clip = decode_upload(out.getvalue(), "c.gif", channels=1)
    assert clip.shape == (10, 1, 32, 48) and clip.dtype == np.float32
    np.testing.assert_array_equal(clip[:, 0], frames / np.float32(255))


def test_zip_frames_come_in_natural_order_and_junk_is_skipped():
    frames = distinct_frames(t=11, h=16, w=16)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        for t in reversed(range(11)):  # written out of order, names not zero-padded
            z.writestr(f"clip/frame_{t}.png", png_bytes(frames[t]))
        z.writestr("__MACOSX/clip/._frame_1.png", b"resource fork")
        z.writestr("clip/.hidden.png", b"not an image")
        z.writestr("clip/notes.txt", b"ignored")
    clip = decode_upload(data.getvalue(), "frames.zip", channels=1)
    np.testing.assert_array_equal(clip[:, 0], frames / np.float32(255))


def test_zip_rgb_to_gray_and_mismatched_sizes():
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("a.png", png_bytes(red))
        z.writestr("b.png", png_bytes(np.zeros((32, 16), np.uint8)))
    with pytest.raises(InputError, match="b.png is 16x32 but the first frame is 16x16"):
        decode_upload(data.getvalue(), "x.zip", channels=1)
    one = io.BytesIO()
    with zipfile.ZipFile(one, "w") as z:
        z.writestr("a.png", png_bytes(red))
    gray = decode_upload(one.getvalue(), "x.zip", channels=1)
    assert gray.shape == (1, 1, 16, 16)
    assert abs(gray[0, 0, 0, 0] - 76 / 255) < 1e-6  # PIL's L = 299/1000 R, rounded: 76


def test_npy_layouts_and_values():
    frames = distinct_frames(t=9, h=16, w=32)
    for array in (frames, frames[:, None], frames[..., None]):
        out = io.BytesIO()
        np.save(out, array)
        clip = decode_upload(out.getvalue(), "c.npy", channels=1)
        np.testing.assert_array_equal(clip[:, 0], frames / np.float32(255))
    floats = np.linspace(0, 1, 9 * 16 * 16, dtype=np.float64).reshape(9, 16, 16)
    np.testing.assert_allclose(array_to_clip_frames(floats)[:, 0], floats, rtol=1e-6)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.full((9, 16, 16), 200.0), r"values in \[200, 200\].*divide by 255"),
        (np.zeros((9, 5, 16, 16)), r"shape \(9, 5, 16, 16\).*dataset file"),
        (np.zeros((9, 16, 16), np.int32), "dtype int32"),
        (np.full((9, 16, 16), np.nan), "NaN"),
    ],
)
def test_npy_refusals_name_the_problem(array, message):
    with pytest.raises(InputError, match=message):
        array_to_clip_frames(array)


def test_pickled_npy_and_unknown_or_broken_files_are_refused():
    out = io.BytesIO()
    np.save(out, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="unpickled"):
        decode_upload(out.getvalue(), "evil.npy", channels=1)
    with pytest.raises(InputError, match="unknown clip format 'avi'"):
        decode_upload(b"data", "c.avi", channels=1)
    with pytest.raises(InputError, match="cannot be read as a GIF: its data is not an image") as e:
        decode_upload(b"GIF89a\x10\x00\x10\x00 broken", "c.gif", channels=1)  # 16x16, no frame
    assert "BytesIO" not in str(e.value)
    with pytest.raises(InputError, match="not a readable ZIP"):
        decode_upload(b"PK not really", "c.zip", channels=1)
    with pytest.raises(InputError, match="empty"):
        decode_upload(b"", "c.npy", channels=1)


def test_mp4_decodes_close_to_the_encoded_frames():
    iio = pytest.importorskip("imageio.v3")
    t = np.arange(12)[:, None, None]
    x = np.arange(64)[None, None, :]
    frames = np.broadcast_to(((x + 4 * t) % 64 * 4).astype(np.uint8), (12, 64, 64))
    data = iio.imwrite("<bytes>", np.repeat(frames[..., None], 3, -1), extension=".mp4", fps=10)
    clip = decode_upload(data, "c.mp4", channels=1)
    assert clip.shape == (12, 1, 64, 64)
    assert np.abs(clip[:, 0] - frames / 255).mean() < 0.03  # lossy codec


def test_check_clip_messages_name_value_and_limit():
    ok = np.zeros((20, 1, 64, 64), np.float32)
    check_clip(ok, channels=1, short_len=10)
    with pytest.raises(InputError, match="5 input frames; it needs at least 9"):
        check_clip(ok[:5], channels=1)
    with pytest.raises(
        InputError, match="60x60 pixels; each side must be a positive multiple of 16"
    ):
        check_clip(np.zeros((10, 1, 60, 60)), channels=1)
    with pytest.raises(InputError, match="3 channels; this model expects 1"):
        check_clip(np.zeros((10, 3, 64, 64)), channels=1)


def test_resize_and_channel_conversion():
    frames = np.random.default_rng(0).random((3, 1, 60, 60), dtype=np.float32)
    assert resize_frames(frames, (64, 64)).shape == (3, 1, 64, 64)
    red = np.zeros((1, 3, 4, 4), np.float32)
    red[:, 0] = 1.0
    np.testing.assert_allclose(match_channels(red, 1), 0.299, rtol=1e-6)
    assert match_channels(np.ones((1, 1, 4, 4), np.float32), 3).shape == (1, 3, 4, 4)


def test_clip_copies_its_frames_and_hashes_content_and_split():
    frames = np.zeros((12, 1, 16, 16), np.float32)
    clip = Clip(frames, 10, "zeros")
    frames[0] = 1.0  # the caller's array stays writable and the clip is unaffected
    assert clip.frames.max() == 0 and not clip.frames.flags.writeable
    assert clip.short.shape[0] == 10 and clip.future.shape[0] == 2
    assert clip.with_short_len(9).key != clip.key
    assert Clip(np.zeros((12, 1, 16, 16)), 10, "other name").key == clip.key
    assert default_short_len(20) == 10 and default_short_len(10) == 10 and default_short_len(9) == 9


def test_dataset_file_layouts():
    assert guess_layout((20, 10_000, 64, 64)) == "TN"  # mnist_test_seq.npy
    standard = np.zeros((20, 3, 64, 64), np.uint8)  # (T, N, H, W)
    standard[:, 1] = np.arange(20)[:, None, None]
    clips = clip_collection(standard, "TN")
    assert clips.shape == (3, 20, 64, 64) and np.shares_memory(clips, standard)
    np.testing.assert_array_equal(clips[1, :, 0, 0], np.arange(20))
    assert guess_layout((100, 20, 64, 64)) == "NT"


def centroid(frame: np.ndarray) -> np.ndarray:
    ys, xs = np.indices(frame.shape)
    mass = frame.sum()
    return np.array([(ys * frame).sum() / mass, (xs * frame).sum() / mass])


@pytest.mark.parametrize(
    "direction, step", [(0, (0, 3)), (90, (-3, 0)), (180, (0, -3)), (270, (3, 0))]
)
def test_motion_probe_moves_the_digit_by_the_requested_velocity(direction, step):
    clip = motion_probe([7], direction, 3.0, num_frames=6, short_len=4)
    frames = clip.frames[:, 0].astype(np.float64)
    # The 15-pixel path is centred in the 36-pixel free range: 5 steps of 3 reach no border.
    for t in range(5):
        np.testing.assert_allclose(centroid(frames[t + 1]) - centroid(frames[t]), step, atol=1e-6)
    np.testing.assert_allclose(clip.motion.velocities[0, 0], step, atol=1e-5)
    assert clip.short_len == 4 and clip.motion.labels.tolist() == [7]
    summary = motion_summary(clip.motion)[0]
    assert summary["digit"] == 7 and math.isclose(summary["speed_px"], 3.0, rel_tol=1e-6)
    assert math.isclose(summary["direction_deg"], direction, abs_tol=1e-4)


def test_motion_probe_bounces_and_turns_further_digits():
    clip = motion_probe([1, 2], [0, 180], 4.0, num_frames=30)
    v = clip.motion.velocities
    np.testing.assert_allclose(v[0, 0], -v[0, 1], atol=1e-6)  # opposite directions
    assert (v[:, 0, 1] < 0).any()  # digit 1 hit the right border and came back
    positions = clip.motion.positions
    assert positions.min() >= 0 and positions.max() <= 64 - 28
    np.testing.assert_allclose(probe_velocity(45, math.sqrt(2)), [-1, 1], atol=1e-12)


def input_motion(clip) -> tuple[float, float]:
    """Direction (degrees) and speed (px/frame) of the lone digit's pixels over the input, from
    the centroids of its first and last input frames: what a viewer of the frames sees."""
    frames = clip.frames[: clip.short_len, 0].astype(np.float64)
    dy, dx = (centroid(frames[-1]) - centroid(frames[0])) / (clip.short_len - 1)
    return math.degrees(math.atan2(-dy, dx)) % 360.0, math.hypot(dy, dx)


def angle_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize(
    "direction, speed, short_len",
    [(0, 4.0, 10), (0, 6.0, 7), (45, 5.5, 10), (90, 2.0, 10), (135, 3.5, 10), (200, 1.5, 10)]
    + [(300, 4.0, 10), (180, 8.0, 5), (270, 0.5, 16)],
)
def test_motion_probe_delivers_the_motion_asked_for_through_the_input(direction, speed, short_len):
    """The issue's case: "0 deg, 6 px/frame" started in the centre, bounced at frame 4 and
    measured 180 deg, 1.2 px/frame. Every request that fits now measures as asked, over the
    recorded velocities and over the pixels themselves (corners are whole pixels, so the
    centroid's speed is off by at most 1 px over the input's steps)."""
    clip = motion_probe([3], direction, speed, short_len + 10, short_len=short_len)
    summary = motion_summary(clip.motion, slice(0, short_len))[0]
    assert angle_gap(summary["direction_deg"], direction) < 1e-3
    assert math.isclose(summary["speed_px"], speed, rel_tol=1e-5)
    seen_direction, seen_speed = input_motion(clip)
    tolerance = math.sqrt(2) / (short_len - 1)
    assert abs(seen_speed - speed) <= tolerance
    assert angle_gap(seen_direction, direction) < math.degrees(tolerance / speed) + 1e-6
    bounce = bounce_frames(clip.motion)[0]
    assert bounce is None or bounce > short_len


def test_motion_probe_centres_a_path_that_fits_the_whole_clip():
    clip = motion_probe([3], 0, 2.0, num_frames=15, short_len=10)
    x = clip.motion.positions[:, 0, 1]
    assert bounce_frames(clip.motion) == [None]  # 14 steps of 2 px fit the 36 px
    assert x[0] == 4 and x[-1] == 32  # centred: 4 px spare at each side
    assert (clip.motion.positions[:, 0, 0] == 18).all()


def test_several_probe_digits_each_move_as_asked_on_their_own_lanes():
    directions = [30, 120, 210]
    clip = motion_probe([1, 4, 7], directions, 2.5, num_frames=20, short_len=10)
    for row, direction in zip(motion_summary(clip.motion, slice(0, 10)), directions, strict=True):
        assert angle_gap(row["direction_deg"], direction) < 1e-3
        assert math.isclose(row["speed_px"], 2.5, rel_tol=1e-5)
    assert all(b is None or b > 10 for b in bounce_frames(clip.motion))
    starts = clip.motion.positions[0]
    assert len({tuple(s) for s in starts.tolist()}) == 3  # no two digits start together


def test_a_motion_too_fast_for_the_input_is_refused_with_its_numbers():
    """6 px/frame over 10 input frames is 54 px; a 28-px digit on 64 px has 36 to move."""
    with pytest.raises(InputError) as err:
        motion_probe([3], 0, 6.0, num_frames=20, short_len=10)
    message = str(err.value)
    for part in ("6 px/frame", "10 input frames", "64x64", "54.0 px", "at most 4.00 px/frame"):
        assert part in message
    with pytest.raises(InputError, match="At 45° at most 5.66 px/frame"):
        motion_probe([3], 45, 6.0, num_frames=10, short_len=10)
    with pytest.raises(InputError, match="4 input frames of a 32x32 frame"):
        motion_probe([3], 90, 1.5, num_frames=4, image_size=32)
    # Given starts that run into a border inside the input are refused as well: from x = 30,
    # frame 3 touches the border at 36 and frame 4 is back at 33.
    with pytest.raises(InputError, match="meets a border before input frame 4 of 10"):
        motion_probe([3], 0, 3.0, num_frames=10, starts=np.array([[0.0, 30.0]]))


@pytest.mark.parametrize("direction", [0, 30, 45, 100, 225])
def test_max_probe_speed_is_the_edge_of_what_fits(direction):
    limit = max_probe_speed(direction, 10, 64)
    axis = max(abs(math.cos(math.radians(direction))), abs(math.sin(math.radians(direction))))
    assert math.isclose(limit * axis * 9, 36.0)
    clip = motion_probe([5], direction, limit, num_frames=10)
    assert bounce_frames(clip.motion) == [None]
    with pytest.raises(InputError, match="without a bounce"):
        motion_probe([5], direction, limit + 0.01, num_frames=10)
    assert max_probe_speed(direction, 1, 64) == math.inf


def test_motion_probe_refuses_bad_arguments():
    with pytest.raises(InputError, match="speed=40 px/frame: must be between 0 and 36"):
        motion_probe([1], 0, 40)
    with pytest.raises(InputError, match="digit 12"):
        motion_probe([12], 0, 1)
    with pytest.raises(InputError, match="at least one digit"):
        motion_probe([], 0, 1)
