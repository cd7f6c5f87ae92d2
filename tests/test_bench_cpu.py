import pytest

from lmc.bench import cpu
from lmc.errors import ConfigError


def test_presets_parse_with_their_batches_and_bad_ones_are_named():
    assert cpu.parse_presets("small:16, paper-mnist:2") == [("small", 16), ("paper-mnist", 2)]
    for bad in ("small", "small:0", "small:x", ""):
        with pytest.raises(ConfigError, match="--presets"):
            cpu.parse_presets(bad)


def test_an_unknown_revision_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="--against no-such-rev"):
        cpu.export_revision("no-such-rev", tmp_path)


# Each of these exports the whole HEAD tree from git and times both trees in fresh processes.
@pytest.mark.slow
@pytest.mark.slow
def test_both_trees_and_the_authors_form_are_timed_each_from_its_own_source(tmp_path, capsys):
    out = tmp_path / "cpu.json"
    flags = "--presets tiny:2 --rounds 1 --steps 1 --threads 1 --against HEAD --authors".split()
    record = cpu.main(flags + ["--out", str(out)])
    (row,) = record["rows"]
    # HEAD rather than the default baseline: a shallow clone may not hold 2026-11-30.
    assert set(row["seconds"]) == {"this tree", "HEAD", cpu.AUTHORS}
    assert all(s > 0 for s in row["seconds"].values()) and row["threads"] == 1
    assert row["task"] == "train" and record["tasks"] == ["train"] and "clips" not in record
    assert row["speedup"] == pytest.approx(row["seconds"]["HEAD"] / row["seconds"]["this tree"])
    assert out.read_text().startswith("{")
    ratio = row["authors_ratio"]  # only with --authors
    assert isinstance(ratio, float) and ratio > 0
    assert ratio == pytest.approx(row["seconds"]["this tree"] / row["seconds"][cpu.AUTHORS])
    table = capsys.readouterr().out
    assert f"this tree / {cpu.AUTHORS} {ratio:.2f}" in table


@pytest.mark.slow
def test_evaluation_and_the_dataset_pass_are_timed_in_clips_per_second(
    tmp_path, monkeypatch, capsys
):
    # The fixed sets both trees read are made once, here rather than in the repository's cache.
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    flags = "--tasks eval,pass --presets tiny:4 --clips 8 --rounds 1 --steps 1 --threads 1"
    record = cpu.main(flags.split() + ["--against", "HEAD"])
    assert record["tasks"] == ["eval", "pass"] and record["clips"] == 8
    assert [row["task"] for row in record["rows"]] == ["eval", "pass"]
    assert all("authors_ratio" not in row for row in record["rows"])  # only with --authors
    table = capsys.readouterr().out
    for row, words in zip(record["rows"], ("evaluation", "dataset pass"), strict=True):
        assert row["preset"] == "tiny" and row["batch"] == 4 and row["clips"] == 8
        rate = row["clips_per_s"]
        assert set(rate) == {"this tree", "HEAD"} and all(r > 0 for r in rate.values())
        assert rate["this tree"] == pytest.approx(8 / row["seconds"]["this tree"])
        assert row["speedup"] == pytest.approx(rate["this tree"] / rate["HEAD"])
        assert row["threads"] == 1
        line = f"tiny batch 4, {words} of 8 clips, 10 -> 10, 1 threads: this tree "
        assert line in table and f"x{row['speedup']:.2f}" in table


def test_tasks_parse_in_order_and_a_bad_one_is_named_with_the_valid_ones():
    assert cpu.parse_tasks("pass, train,pass") == ["pass", "train"]
    for bad, named in (("train,evaluate", "'evaluate'"), ("", "at least one")):
        with pytest.raises(ConfigError, match="--tasks") as err:
            cpu.main(["--tasks", bad])
        assert named in str(err.value) and "valid tasks: train, eval, pass" in str(err.value)


def test_the_authors_form_needs_the_training_task():
    with pytest.raises(ConfigError, match="--authors"):
        cpu.main(["--tasks", "eval", "--authors"])
