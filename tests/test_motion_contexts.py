"""Moving-MNIST with motion contexts: each family follows its definition, the families are drawn
uniformly, the context is in the input only over its whole length, and the future depends on it.
"""

import math

import numpy as np
import pytest

from lmc.data.fixed_sets import fixed_set
from lmc.data.motion_contexts import FAMILIES, PARAM_NAMES, cell_family, family_index
from lmc.data.moving_mnist import MovingMNISTStream, generate_clips, reflect
from lmc.experiments.contexts import constant_velocity_miss, family_from_input

FREE = 36


@pytest.fixture(scope="module")
def clips():
    return generate_clips(600, 40, seed=11, split="train", motion="contexts")


def digits_of(clips, family: str):
    """(clip, digit) pairs whose digit follows `family`, and its parameters by name."""
    clip, digit = np.nonzero(clips.families == family_index(family))
    params = {name: clips.family_params[clip, digit, i] for i, name in enumerate(PARAM_NAMES)}
    return clip, digit, params


def path(clips, clip, digit, field="continuous_positions"):
    """(M, T, 2) float64 paths of the chosen digits."""
    return getattr(clips, field)[clip, :, digit].astype(np.float64)


def test_every_family_is_drawn_about_equally_often(clips):
    counts = np.bincount(clips.families.ravel(), minlength=len(FAMILIES))
    expected = clips.families.size / len(FAMILIES)  # 200 each
    assert counts.sum() == 1200
    # 4 standard deviations of a binomial(1200, 1/6) count: about 52
    assert np.all(np.abs(counts - expected) < 4 * math.sqrt(1200 * (1 / 6) * (5 / 6))), counts


def test_paths_stay_inside_and_the_steps_reproduce_them(clips):
    positions = clips.continuous_positions.astype(np.float64)
    assert positions.min() >= 0 and positions.max() <= FREE
    # the convention of MovingMNISTClips.velocities: p[t+1] = reflect(p[t] + v[t])
    following, _ = reflect(
        positions[:, :-1] + clips.velocities[:, :-1], clips.velocities[:, :-1], FREE
    )
    assert np.abs(following - positions[:, 1:]).max() < 1e-4
    assert np.array_equal(clips.positions, np.rint(clips.continuous_positions))


def test_bounce_keeps_its_speed(clips):
    clip, digit, p = digits_of(clips, "bounce")
    speed = np.linalg.norm(clips.velocities[clip, :, digit], axis=-1)
    assert np.allclose(speed, p["speed"][:, None], atol=1e-5)
    assert 2.0 <= p["speed"].min() and p["speed"].max() <= 3.5


@pytest.mark.parametrize("family,turn", [("orbit-cw", -1), ("orbit-ccw", 1)])
def test_orbits_keep_their_radius_and_turn_their_way_on_screen(clips, family, turn):
    clip, digit, p = digits_of(clips, family)
    centre = np.stack([p["centre_y"], p["centre_x"]], axis=-1)[:, None]
    offset = path(clips, clip, digit) - centre
    assert np.allclose(np.linalg.norm(offset, axis=-1), p["radius"][:, None], atol=1e-4)
    # screen coordinates: x right, up = -y; the angle grows counter-clockwise
    angle = np.unwrap(np.arctan2(-offset[..., 0], offset[..., 1]), axis=1)
    per_frame = np.diff(angle, axis=1)
    assert np.allclose(per_frame, turn * 2 * math.pi / p["period"][:, None], atol=1e-4)
    assert 8 <= p["radius"].min() and p["radius"].max() <= 14
    assert 24 <= p["period"].min() and p["period"].max() <= 36


def test_zigzag_flips_its_side_step_every_half_period(clips):
    clip, digit, p = digits_of(clips, "zigzag")
    steps = clips.velocities[clip, :, digit].astype(np.float64)
    norm = np.hypot(p["speed"], p["side_speed"])[:, None]
    assert np.allclose(np.linalg.norm(steps, axis=-1), norm, atol=1e-5)  # a bounce keeps it
    # Away from the borders (the first 12 frames of the digits that stay clear of them) the
    # step turns exactly when the side step flips: at t with (t + phase) % H == 0.
    window = steps[:, :12]
    a, b = window[:, :-1], window[:, 1:]
    turned = np.abs(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]) > 1e-6
    t = np.arange(1, 12)[None]
    flips = (t + p["phase"][:, None]) % p["half_period"][:, None] == 0
    positions = path(clips, clip, digit)[:, :13]
    clear = (positions.min(axis=(1, 2)) > 3) & (positions.max(axis=(1, 2)) < FREE - 3)
    assert clear.sum() >= 3
    assert np.array_equal(turned[clear], flips[clear])
    assert set(np.unique(p["half_period"])) <= {5, 6, 7, 8}


def test_oscillate_swings_on_its_segment(clips):
    clip, digit, p = digits_of(clips, "oscillate")
    centre = np.stack([p["centre_y"], p["centre_x"]], axis=-1)[:, None]
    axis = np.stack([-np.sin(p["direction"]), np.cos(p["direction"])], axis=-1)[:, None]
    t = np.arange(40)[None]
    expected = (
        centre
        + (
            p["radius"][:, None]
            * np.sin(2 * math.pi * t / p["period"][:, None] + p["phase"][:, None])
        )[..., None]
        * axis
    )
    assert np.abs(path(clips, clip, digit) - expected).max() < 1e-4
    assert 16 <= p["period"].min() and p["period"].max() <= 28


def test_stop_go_moves_for_g_frames_then_stands_for_s(clips):
    clip, digit, p = digits_of(clips, "stop-go")
    speed = np.linalg.norm(clips.velocities[clip, :, digit], axis=-1)
    cycle = (p["half_period"] + p["pause"])[:, None]
    moving = (np.arange(40)[None] + p["phase"][:, None]) % cycle < p["half_period"][:, None]
    assert np.allclose(speed, np.where(moving, p["speed"][:, None], 0.0), atol=1e-5)
    assert set(np.unique(p["half_period"])) <= {4, 5, 6}
    assert set(np.unique(p["pause"])) <= {3, 4, 5}


def test_parameters_not_of_a_family_are_nan(clips):
    used = {
        "bounce": {"speed", "direction"},
        "orbit-cw": {"radius", "period", "phase", "centre_y", "centre_x"},
        "orbit-ccw": {"radius", "period", "phase", "centre_y", "centre_x"},
        "zigzag": {"speed", "side_speed", "direction", "half_period", "phase"},
        "oscillate": {"radius", "period", "phase", "direction", "centre_y", "centre_x"},
        "stop-go": {"speed", "direction", "half_period", "pause", "phase"},
    }
    for family, names in used.items():
        _, _, p = digits_of(clips, family)
        for name in PARAM_NAMES:
            assert np.isfinite(p[name]).all() == (name in names), (family, name)


@pytest.mark.slow  # two classifiers on 3,000 digits: about 5 s on an idle machine
def test_the_context_shows_over_the_whole_input_not_its_end(clips):
    """A small classifier on a digit's nine input displacements recovers its family at 0.9 or
    more; on the last two alone far less: the input hints at its context only as a whole."""
    train = generate_clips(1500, 10, seed=12, split="train", motion="contexts")
    whole = family_from_input(train, clips)
    end = family_from_input(train, clips, last=2)
    assert whole >= 0.9, whole
    assert end <= 0.6, end
    with pytest.raises(ValueError, match="last=10: must be between 1 and input_len - 1 = 9"):
        family_from_input(train, clips, last=10)
    with pytest.raises(ValueError, match="the test clips have no motion families"):
        family_from_input(train, generate_clips(2, 10, seed=0))


def test_a_constant_velocity_guess_misses_every_familys_future(clips):
    """The last input displacement carried on for 30 frames, with the standard generator's
    reflection, misses by several pixels on average for every family but bounce (for which it
    is the true rule, but for the rounding of the input positions); carried on without a
    reflection it misses every family."""
    table = constant_velocity_miss(clips, input_len=10, horizon=30)
    assert table["family"].tolist() == list(FAMILIES) and table["digits"].sum() == 1200
    for row in table.itertuples():
        assert row.miss_linear > 20, row
        assert row.miss_reflected > (3 if row.family == "bounce" else 8), row
    # an oracle, written out for the two digits of the first clip
    misses = {}
    for d in range(2):
        p = clips.positions[0, :, d].astype(np.float64)
        v, q, guess = p[9] - p[8], p[9], []
        for _ in range(30):
            q, v = reflect(q + v, v, FREE)
            guess.append(q)
        family = FAMILIES[clips.families[0, d]]
        misses.setdefault(family, []).append(
            np.linalg.norm(np.array(guess) - p[10:40], axis=-1).mean()
        )
    first = constant_velocity_miss(clips.subset([0]), 10, 30).set_index("family")
    for family, values in misses.items():
        assert first.loc[family, "digits"] == len(values)
        assert first.loc[family, "miss_reflected"] == pytest.approx(np.mean(values))
    assert first["miss_reflected"].isna().sum() == 6 - len(misses)  # families without a digit
    with pytest.raises(ValueError, match="input_len=10, horizon=31"):
        constant_velocity_miss(clips, 10, 31)


def test_cell_family_names_the_digit_that_covers_a_cell_most():
    # one frame, two digits: family 1 at the top-left corner, family 4 at (20, 30)
    positions = np.array([[[[0.0, 0.0], [20.0, 30.0]]]])
    families = np.array([[1, 4]])
    family, coverage = cell_family(positions, families)
    grid = family.reshape(4, 4)
    # digit 0 covers rows 0-27, cols 0-27: cell (0, 0) whole; digit 1 rows 20-47, cols 30-57
    assert grid[0, 0] == 1 and coverage[0, 0] == 1.0
    assert grid[2, 2] == 4 and coverage[0, 10] == 1.0  # cell (2, 2): rows 32-47, cols 32-47
    assert grid[3, 0] == -1 and coverage[0, 12] == 0.0  # nothing reaches rows 48+, cols 0-15
    # cell (1, 1), rows 16-31, cols 16-31: digit 0 covers 12 x 12, digit 1 covers 12 x 2
    assert grid[1, 1] == 1 and coverage[0, 5] == pytest.approx(144 / 256)


def test_cell_family_checks_shapes():
    with pytest.raises(ValueError, match="families has shape"):
        cell_family(np.zeros((2, 3, 2, 2)), np.zeros((2, 3), dtype=int))


def test_contexts_are_deterministic_and_standard_clips_unchanged():
    a = generate_clips(4, 12, seed=3, split="test", motion="contexts")
    b = generate_clips(4, 12, seed=3, split="test", motion="contexts")
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.families, b.families)
    assert a.motion == "contexts" and "motion contexts" in a.source
    standard = generate_clips(4, 12, seed=3, split="test")
    assert standard.families is None and standard.motion == "standard"
    assert a.subset([1, 3]).families.shape == (2, 2)


def test_bad_motion_and_small_canvas_are_refused():
    with pytest.raises(ValueError, match="motion='spiral': must be one of standard, contexts"):
        generate_clips(2, 5, seed=0, motion="spiral")
    with pytest.raises(ValueError, match="image_size=48: motion contexts need image_size >= 56"):
        generate_clips(2, 5, seed=0, image_size=48, motion="contexts")
    with pytest.raises(ValueError, match="unknown motion family 'spin'"):
        family_index("spin")


def test_fixed_context_sets_keep_their_labels(tmp_path):
    first = fixed_set("val", 5, 12, root=tmp_path, motion="contexts")
    again = fixed_set("val", 5, 12, root=tmp_path, motion="contexts")
    assert first.seed == 3003 and again.families is not None
    assert np.array_equal(first.families, again.families)
    assert np.array_equal(first.family_params, again.family_params, equal_nan=True)
    standard = fixed_set("val", 5, 12, root=tmp_path)
    assert standard.seed == 1001 and standard.families is None
    assert len(list(tmp_path.rglob("*.json"))) == 2  # two sets, side by side


def test_a_stream_resumes_only_with_its_own_motion():
    stream = MovingMNISTStream(2, 6, seed=1, motion="contexts")
    first = stream.next_clips()
    assert first.families is not None
    state = stream.state_dict()
    assert state["motion"] == "contexts"
    standard = MovingMNISTStream(2, 6, seed=1)
    with pytest.raises(ValueError, match="motion='contexts' \\(stream has 'standard'\\)"):
        standard.load_state_dict(state)
    assert "motion" not in standard.state_dict()  # standard states read as before
    resumed = MovingMNISTStream(2, 6, seed=1, motion="contexts")
    resumed.load_state_dict(state)
    assert np.array_equal(resumed.next_clips().frames, stream.next_clips().frames)


def test_the_controls_command_prints_both_controls(capsys):
    from lmc.experiments.contexts import MIN_CLIPS, main

    result = main(["--clips", "300"])
    out = capsys.readouterr().out
    assert f"all 9 displacements  {result['whole']:.3f}" in out
    assert f"the last 2           {result['last2']:.3f}" in out
    assert "(300 test digits, chance 0.167)" in out  # 150 test clips of two digits
    assert result["whole"] > result["last2"] + 0.2  # the context needs the whole input
    assert list(result["misses"]["family"]) == list(FAMILIES)
    assert (result["misses"]["miss_reflected"] > 3).all()
    with pytest.raises(ValueError, match=f"clips=10: must be between {MIN_CLIPS} and"):
        main(["--clips", "10"])
