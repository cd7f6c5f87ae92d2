"""Moving-MNIST generation against its metadata, frame by frame, and its true motion per cell,
against scalar oracles and cases computed by hand."""

import math

import numpy as np
import pytest
import torch

from lmc.data.mnist_digits import digit_pool, load_mnist_digits
from lmc.data.motion import cell_motion, clip_motion, screen_direction
from lmc.data.moving_mnist import MovingMNISTStream, generate_clips


def bounce(p: float, v: float, free: float) -> tuple[float, float]:
    """The recipe's reflection for one coordinate, written independently of the library."""
    p = p + v
    if p < 0:
        return -p, -v
    if p > free:
        return 2 * free - p, -v
    return p, v


@pytest.fixture(scope="module")
def clips():
    return generate_clips(6, 20, seed=7, split="val")


def test_shapes_dtypes_and_range(clips):
    assert clips.frames.shape == (6, 20, 64, 64) and clips.frames.dtype == np.uint8
    for name in ("positions", "continuous_positions", "velocities"):
        array = getattr(clips, name)
        assert array.shape == (6, 20, 2, 2) and array.dtype == np.float32
    assert clips.labels.shape == clips.digit_indices.shape == (6, 2)
    assert len(clips) == 6 and clips.frames.max() > 200
    video = clips.to_tensor()
    assert video.shape == (6, 20, 1, 64, 64) and video.dtype == torch.float32
    assert 0.0 <= video.min() and video.max() <= 1.0
    assert torch.equal(video[..., 0, :, :], torch.from_numpy(clips.frames).float() / 255)
    assert clips.source == "generated Moving-MNIST (seed 7, split val)"


def test_same_seed_same_clips_other_seed_other_clips(clips):
    again = generate_clips(6, 20, seed=7, split="val")
    other = generate_clips(6, 20, seed=8, split="val")
    assert np.array_equal(again.frames, clips.frames)
    assert np.array_equal(again.velocities, clips.velocities)
    assert not np.array_equal(other.frames, clips.frames)


def test_digits_come_from_the_split_pool(clips):
    assert np.isin(clips.digit_indices, digit_pool("val")).all()
    _, labels = load_mnist_digits()
    assert np.array_equal(clips.labels, labels[clips.digit_indices])


def test_positions_stay_inside_the_canvas(clips):
    free = 64 - 28
    assert clips.continuous_positions.min() >= 0 and clips.continuous_positions.max() <= free
    assert np.array_equal(clips.positions, np.round(clips.positions))
    assert clips.positions.min() >= 0 and clips.positions.max() <= free
    assert np.abs(clips.positions - clips.continuous_positions).max() <= 0.5 + 1e-4


def test_motion_follows_the_metadata_frame_by_frame(clips):
    free = 64 - 28
    n, t_len, d_len, _ = clips.velocities.shape
    for i in range(n):
        for t in range(t_len - 1):
            for d in range(d_len):
                for axis in range(2):
                    p = float(clips.continuous_positions[i, t, d, axis])
                    v = float(clips.velocities[i, t, d, axis])
                    p_next, v_next = bounce(p, v, free)
                    assert p_next == pytest.approx(
                        clips.continuous_positions[i, t + 1, d, axis], abs=1e-4
                    )
                    assert v_next == pytest.approx(clips.velocities[i, t + 1, d, axis], abs=1e-5)


def test_every_digit_bounces_within_twenty_frames(clips):
    # At 3.6 px/frame one axis moves >= 2.5 px/frame: 19 steps cover more than the 36 px range.
    flips = np.sign(clips.velocities[:, 1:]) != np.sign(clips.velocities[:, :-1])
    assert flips.any(axis=(1, 3)).all()


def test_frames_are_the_max_of_digits_pasted_at_recorded_positions(clips):
    images, _ = load_mnist_digits()
    n, t_len, d_len, _ = clips.positions.shape
    for i in range(n):
        for t in range(t_len):
            expected = np.zeros((64, 64), dtype=np.uint8)
            for d in range(d_len):
                y, x = clips.positions[i, t, d].astype(int)
                patch = expected[y : y + 28, x : x + 28]
                patch[...] = np.maximum(patch, images[clips.digit_indices[i, d]])
            assert np.array_equal(clips.frames[i, t], expected), (i, t)


@pytest.mark.parametrize(("image_size", "step"), [(64, 0.1), (48, 0.25), (100, 0.05)])
def test_speed_is_step_times_free_range(image_size, step):
    clips = generate_clips(3, 12, seed=1, image_size=image_size, step=step, num_digits=3)
    speed = np.linalg.norm(clips.velocities, axis=-1)
    np.testing.assert_allclose(speed, step * (image_size - 28), rtol=1e-5)
    assert clips.frames.shape == (3, 12, image_size, image_size)


def test_canvas_of_one_digit_size_keeps_digits_still():
    clips = generate_clips(2, 3, seed=0, image_size=28)
    assert not clips.positions.any() and not clips.velocities.any()


def test_subset_selects_clips(clips):
    part = clips.subset([4, 1])
    assert len(part) == 2 and np.array_equal(part.frames[0], clips.frames[4])
    assert np.array_equal(part.velocities[1], clips.velocities[1])
    assert len(clips.subset(slice(0, 3))) == 3 and len(clips.subset(5)) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_clips": 0}, "num_clips=0: must be an integer >= 1"),
        ({"seq_len": 0}, "seq_len=0: must be an integer >= 1"),
        ({"num_digits": 0}, "num_digits=0: must be an integer >= 1"),
        ({"image_size": 27}, "image_size=27: must be an integer >= 28"),
        ({"step": 1.5}, r"step=1.5: must be a number in \[0, 1\]"),
        ({"split": "dev"}, "unknown split 'dev'; valid splits: train, val, test"),
        ({"seed": -1}, "seed=-1: must be an integer >= 0"),
    ],
)
def test_bad_arguments_name_value_and_limit(kwargs, message):
    args = {"num_clips": 2, "seq_len": 4, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_clips(**args)


def test_stream_batches_are_seeded_by_seed_rank_and_index():
    stream = MovingMNISTStream(3, 10, seed=5, rank=1, world_size=2)
    first = stream.next_batch()
    second, meta = stream.next_batch(with_meta=True)
    assert first.shape == (3, 10, 1, 64, 64) and first.dtype == torch.float32
    assert meta.seed == (5, 1, 1)
    assert np.array_equal(meta.frames, generate_clips(3, 10, seed=(5, 1, 1)).frames)
    assert not torch.equal(first, second)
    other_rank = MovingMNISTStream(3, 10, seed=5, rank=0, world_size=2).next_batch()
    assert not torch.equal(first, other_rank)


def test_stream_resumes_with_the_same_next_batch():
    stream = MovingMNISTStream(2, 6, seed=11)
    for _ in range(3):
        stream.next_batch()
    state = stream.state_dict()
    expected = stream.next_batch()
    resumed = MovingMNISTStream(2, 6, seed=11)
    resumed.load_state_dict(state)
    assert state["batch_index"] == 3
    assert torch.equal(resumed.next_batch(), expected)
    assert torch.equal(next(iter(resumed)), stream.next_batch())


def test_stream_refuses_state_of_another_stream():
    state = MovingMNISTStream(2, 6, seed=11).state_dict()
    with pytest.raises(ValueError, match=r"seed=11 \(stream has 12\)"):
        MovingMNISTStream(2, 6, seed=12).load_state_dict(state)
    MovingMNISTStream(2, 6, seed=12).load_state_dict({"batch_index": 4})  # deliberate override
    with pytest.raises(ValueError, match="rank=2: must be below world_size=2"):
        MovingMNISTStream(2, 6, seed=0, rank=2, world_size=2)


# True motion per query cell (lmc.data.motion), on hand-made cases.


def one(values):
    """(T, D, 2) nested lists -> (1, T, D, 2) float array."""
    return np.asarray(values, dtype=float)[None]


def test_screen_direction_convention():
    # (dy, dx): y grows downwards on screen.
    velocity = np.array([[0, 1], [-1, 0], [0, -1], [1, 0]], dtype=float)
    np.testing.assert_allclose(screen_direction(velocity), [0, math.pi / 2, math.pi, -math.pi / 2])


def test_single_digit_in_the_top_left_corner():
    # Box [0, 28)^2 on 16-pixel cells: 16 + 12 pixels over rows 0, 1 and cols 0, 1.
    motion = cell_motion(one([[[0, 0]]]), one([[[0, 2]]]))
    covered = [0, 1, 4, 5]  # row-major cells (0,0), (0,1), (1,0), (1,1)
    np.testing.assert_allclose(motion.coverage[0, covered], [1, 0.75, 0.75, 144 / 256])
    np.testing.assert_array_equal(motion.occupancy[0, covered], 1)
    np.testing.assert_allclose(motion.speed[0, covered], 2)
    np.testing.assert_allclose(motion.direction[0, covered], 0)
    empty = [k for k in range(16) if k not in covered]
    assert (motion.occupancy[0, empty] == 0).all() and (motion.coverage[0, empty] == 0).all()
    assert np.isnan(motion.direction[0, empty]).all() and np.isnan(motion.speed[0, empty]).all()
    assert motion.grid == (4, 4)


def test_cells_are_row_major():
    motion = cell_motion(one([[[36, 0]]]), one([[[1, 0]]]))
    assert np.flatnonzero(motion.occupancy[0]).tolist() == [8, 9, 12, 13]
    np.testing.assert_allclose(motion.direction[0, [8, 9, 12, 13]], -math.pi / 2)  # downwards


def test_two_digits_are_weighted_by_overlap_area():
    # A at (0, 0) moving right at 2; B at (10, 10) moving up at 1. In cell (0, 0) A covers
    # 16 x 16 pixels and B (rows and cols 10..16) 6 x 6.
    motion = cell_motion(one([[[0, 0], [10, 10]]]), one([[[0, 2], [-1, 0]]]))
    dy, dx = (256 * 0 + 36 * -1) / 292, (256 * 2 + 36 * 0) / 292
    np.testing.assert_allclose(motion.velocity[0, 0], [dy, dx])
    assert motion.direction[0, 0] == pytest.approx(math.atan2(-dy, dx))
    assert motion.speed[0, 0] == pytest.approx(math.hypot(dy, dx))
    assert motion.coverage[0, 0] == pytest.approx(292 / 256)
    # Cell (2, 2) covers pixels 32..48: only B reaches it, rows and cols 32..38.
    np.testing.assert_allclose(motion.velocity[0, 10], [-1, 0])
    assert motion.coverage[0, 10] == pytest.approx(36 / 256)


def test_occupancy_counts_frames_and_frames_select_time():
    positions = one([[[0, 0]], [[36, 36]]])  # top-left corner, then bottom-right corner
    velocities = one([[[0, 1]], [[0, -1]]])
    motion = cell_motion(positions, velocities)
    assert motion.occupancy[0, 0] == 0.5 and motion.occupancy[0, 15] == 0.5
    assert motion.occupancy[0, 5] == 0.5  # pixels 16..32 meet only the first box
    np.testing.assert_allclose(motion.direction[0, [0, 15]], [0, math.pi])
    late = cell_motion(positions, velocities, frames=[1])
    assert late.occupancy[0, 0] == 0 and np.isnan(late.direction[0, 0])
    assert late.occupancy[0, 15] == 1


def test_other_grids_and_sizes():
    motion = cell_motion(one([[[0, 0]]]), one([[[0, 1]]]), image_size=32, grid=(2, 2))
    np.testing.assert_allclose(motion.coverage[0], [1, 0.75, 0.75, 0.5625])
    single = cell_motion(one([[[0, 0]]]), one([[[0, 1]]]), grid=(1, 1))
    assert single.coverage.shape == (1, 1) and single.coverage[0, 0] == pytest.approx(784 / 4096)


def test_clip_motion_is_the_mean_per_digit():
    velocities = one([[[0, 2], [1, 0]], [[0, -2], [1, 0]], [[0, 2], [1, 0]], [[0, 2], [1, 0]]])
    motion = clip_motion(velocities)
    np.testing.assert_allclose(motion.velocity[0], [[0, 1], [1, 0]])
    np.testing.assert_allclose(motion.speed[0], [1, 1])
    np.testing.assert_allclose(motion.direction[0], [0, -math.pi / 2])
    assert clip_motion(velocities, frames=slice(0, 2)).speed[0, 0] == 0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"grid=\(3, 3\).*image_size=64"):
        cell_motion(one([[[0, 0]]]), one([[[0, 1]]]), grid=(3, 3))
    with pytest.raises(ValueError, match=r"positions has shape \(2, 2\)"):
        cell_motion(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="selects no frame"):
        clip_motion(one([[[0, 1]]]), frames=[])


def test_cells_without_digit_boxes_stay_black(clips):
    motion = cell_motion(clips.positions, clips.velocities)
    # (N, T, 4, 16, 4, 16) -> whether any pixel of each 16x16 cell is lit in any frame.
    lit = clips.frames.reshape(6, 20, 4, 16, 4, 16).any(axis=(1, 3, 5)).reshape(6, 16)
    assert (motion.occupancy[lit] > 0).all()
    assert np.nanmax(motion.speed) <= 3.6 + 1e-5
