"""The words under the dashboard's progress bars: counts, and the time left at the measured speed."""

import pytest

from dashboard.progress_text import duration, pass_estimate, progress_text, remaining


def test_the_time_left_is_the_rest_at_the_speed_so_far():
    # 240 clips in 6 s is 0.025 s a clip; 260 more take 6.5 s.
    assert remaining(240, 500, 6.0) == pytest.approx(6.5)
    assert remaining(0, 500, 3.0) is None  # nothing done: no speed to go by
    assert remaining(10, 500, 0.0) is None
    assert remaining(500, 500, 12.0) == 0.0


def test_progress_text_names_the_count_and_the_estimate():
    assert progress_text(240, 500, "clips", 6.0) == "240 / 500 clips, about 6 s left"  # 6.5 -> 6
    assert progress_text(0, 500, "clips", 0.0) == "0 / 500 clips"
    assert progress_text(500, 500, "clips", 12.0) == "500 / 500 clips"  # done: nothing left
    assert progress_text(1000, 2000, "clips", 150.0) == "1,000 / 2,000 clips, about 2 min left"
    assert progress_text(499, 500, "epochs", 3.0) == "499 / 500 epochs, under a second left"


def test_durations_round_as_an_estimate_should():
    assert duration(0.4) == "under a second"
    assert duration(1.0) == "about 1 s"
    assert duration(89.0) == "about 89 s"
    assert duration(90.0) == "about 2 min"  # 1.5 min
    assert duration(400.0) == "about 7 min"


def test_the_estimate_before_a_pass_is_clips_times_the_speed():
    assert pass_estimate(500, 0.023) == "about 12 s"  # 11.5 s
    assert pass_estimate(2000, 0.023) == "about 46 s"
    assert pass_estimate(100, 0.002) == "under a second"


@pytest.mark.parametrize(
    "call",
    [
        lambda: progress_text(501, 500, "clips", 1.0),
        lambda: progress_text(-1, 500, "clips", 1.0),
        lambda: progress_text(0, 0, "clips", 1.0),
        lambda: duration(float("nan")),
        lambda: duration(-1.0),
    ],
)
def test_impossible_counts_and_times_are_refused_by_name(call):
    with pytest.raises(ValueError, match="progress_text|duration"):
        call()
