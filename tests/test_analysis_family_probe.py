"""The motion probe's digit of a chosen family: its path follows the family's definition (the
checks of tests/test_motion_contexts.py, on one digit), its parameters lie in the generator's
ranges (or in their middle), the frames show the digit where its path says, and its true motion
names the family."""

import math

import numpy as np
import pytest

from lmc.analysis.inputs import InputError
from lmc.analysis.probe import MidRange, family_params_text, family_path, family_probe
from lmc.data.motion_contexts import FAMILIES, family_index

T = 40
FREE = 36


def centre(p):
    return np.array([p["centre_y"], p["centre_x"]])


def check_bounce(path, steps, p):
    assert np.allclose(np.linalg.norm(steps, axis=-1), p["speed"], atol=1e-6)
    assert 2.0 <= p["speed"] <= 3.5


def check_orbit(path, steps, p, turn):
    offset = path - centre(p)
    assert np.allclose(np.linalg.norm(offset, axis=-1), p["radius"], atol=1e-6)
    # screen angles: x right, up = -y, growing counter-clockwise
    angle = np.unwrap(np.arctan2(-offset[:, 0], offset[:, 1]))
    assert np.allclose(np.diff(angle), turn * 2 * math.pi / p["period"], atol=1e-6)
    assert 8 <= p["radius"] <= 14 and 24 <= p["period"] <= 36


def check_zigzag(path, steps, p):
    norm = np.hypot(p["speed"], p["side_speed"])
    assert np.allclose(np.linalg.norm(steps, axis=-1), norm)  # a reflection keeps it
    # Until the digit comes within a step of a border, the step turns exactly where the side
    # step flips: at t with (t + phase) % H == 0.
    a, b = steps[:-1], steps[1:]
    turned = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) > 1e-6
    t = np.arange(1, T)
    flips = (t + p["phase"]) % p["half_period"] == 0
    near = np.flatnonzero((path.min(axis=1) < norm) | (path.max(axis=1) > FREE - norm))
    end = near[0] - 1 if len(near) else T - 1
    assert np.array_equal(turned[: max(end, 0)], flips[: max(end, 0)])
    assert p["half_period"] in (5, 6, 7, 8)
    return end


def check_oscillate(path, steps, p):
    axis = np.array([-math.sin(p["direction"]), math.cos(p["direction"])])
    swing = p["radius"] * np.sin(2 * math.pi * np.arange(T) / p["period"] + p["phase"])
    assert np.abs(path - (centre(p) + swing[:, None] * axis)).max() < 1e-6
    assert 8 <= p["radius"] <= 14 and 16 <= p["period"] <= 28


def check_stop_go(path, steps, p):
    cycle = p["half_period"] + p["pause"]
    moving = (np.arange(T) + p["phase"]) % cycle < p["half_period"]
    speed = np.linalg.norm(steps, axis=-1)
    assert np.allclose(speed, np.where(moving, p["speed"], 0.0), atol=1e-6)
    assert p["half_period"] in (4, 5, 6) and p["pause"] in (3, 4, 5)


CHECKS = {
    "bounce": check_bounce,
    "orbit-cw": lambda *a: check_orbit(*a, turn=-1),
    "orbit-ccw": lambda *a: check_orbit(*a, turn=1),
    "zigzag": check_zigzag,
    "oscillate": check_oscillate,
    "stop-go": check_stop_go,
}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [None, 0, 7])
def test_the_probes_path_follows_its_family(family, seed):
    path, steps, params = family_path(family, T, seed=seed)
    assert path.shape == steps.shape == (T, 2)
    assert path.min() >= 0 and path.max() <= FREE
    clear = CHECKS[family](path, steps, params)
    if family == "zigzag" and seed is None:  # from the centre: a flip before a border
        assert clear > params["half_period"]


def test_mid_range_parameters_are_the_middle_of_each_range():
    assert family_path("orbit-cw", 5)[2] == {
        "radius": 11.0,
        "period": 30.0,
        "phase": math.pi,
        "centre_y": 18.0,
        "centre_x": 18.0,
    }
    stop_go = family_path("stop-go", 5)[2]
    assert stop_go == pytest.approx(
        {"speed": 3.25, "direction": math.pi, "half_period": 5, "pause": 4, "phase": 4}
    )
    zigzag = family_path("zigzag", 5)[2]
    assert (zigzag["half_period"], zigzag["phase"]) == (6, 5)  # 5 .. 8 -> 6; 0 .. 11 -> 5
    mid = MidRange()
    assert mid.integers(5, 9, 3).tolist() == [6, 6, 6] and mid.integers(4).tolist() == 1
    assert mid.uniform(0, 1, (2, 2)).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    # Seeds draw other members of the family, each seed its own.
    assert family_path("orbit-cw", 5, seed=1)[2] != family_path("orbit-cw", 5, seed=2)[2]
    assert np.array_equal(family_path("zigzag", 9, seed=3)[0], family_path("zigzag", 9, seed=3)[0])


@pytest.mark.parametrize("family", ["orbit-ccw", "stop-go"])
def test_the_clip_draws_the_digit_on_its_path_and_names_its_family(family):
    clip = family_probe(3, family, 20, short_len=10, seed=5)
    path, steps, _ = family_path(family, 20, seed=5)
    assert clip.frames.shape == (20, 1, 64, 64) and clip.short_len == 10
    assert clip.source == f"motion probe: digit 3, {family} (parameters of seed 5)"
    motion = clip.motion
    assert motion.families.tolist() == [family_index(family)] and motion.labels.tolist() == [3]
    assert np.array_equal(motion.positions[:, 0], np.rint(path))
    assert np.allclose(motion.velocities[:, 0], steps, atol=1e-6)
    for t in (0, 9, 19):  # every lit pixel lies inside the 28-pixel box at the rounded corner
        y, x = np.rint(path[t]).astype(int)
        lit = np.argwhere(clip.frames[t, 0] > 0)
        assert len(lit) > 50
        assert (lit.min(axis=0) >= (y, x)).all() and (lit.max(axis=0) < (y + 28, x + 28)).all()


def test_parameters_in_words():
    _, _, orbit = family_path("orbit-cw", 5)
    assert family_params_text("orbit-cw", orbit) == (
        "phase 180 deg, radius 11 px, period 30 frames, centre y 18 px, centre x 18 px"
    )
    _, _, zigzag = family_path("zigzag", 5)
    assert "frames between flips 6, phase 5 frames" in family_params_text("zigzag", zigzag)
    _, _, swing = family_path("oscillate", 5)
    assert family_params_text("oscillate", swing).startswith("axis 180 deg, phase 180 deg, amp")


def test_bad_probes_say_why():
    with pytest.raises(ValueError, match="unknown motion family 'spiral'; valid families: bounce"):
        family_path("spiral", 10)
    with pytest.raises(InputError, match="image_size=48: motion contexts need image_size >= 56"):
        family_probe(3, "orbit-cw", 10, image_size=48)
    with pytest.raises(InputError, match="seed=-1: must be a whole number >= 0"):
        family_path("zigzag", 10, seed=-1)
    with pytest.raises(InputError, match="digit 12: must be a class 0..9"):
        family_probe(12, "zigzag", 10)
