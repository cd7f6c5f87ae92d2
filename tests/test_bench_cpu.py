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


def test_both_trees_are_timed_each_from_its_own_source(tmp_path):
    out = tmp_path / "cpu.json"
    flags = "--presets tiny:2 --rounds 1 --steps 1 --threads 1 --against HEAD".split()
    record = cpu.main(flags + ["--out", str(out)])
    (row,) = record["rows"]
    # HEAD rather than the default baseline: a shallow clone may not hold 2026-11-30.
    assert set(row["seconds"]) == {"this tree", "HEAD"}
    assert all(s > 0 for s in row["seconds"].values()) and row["threads"] == 1
    assert "authors_ratio" not in row  # only with --authors
    assert row["speedup"] == pytest.approx(row["seconds"]["HEAD"] / row["seconds"]["this tree"])
    assert out.read_text().startswith("{")


def test_the_authors_form_is_timed_beside_the_trees_and_compared(capsys):
    flags = "--presets tiny:2 --rounds 1 --steps 1 --threads 1 --against HEAD --authors".split()
    record = cpu.main(flags)
    (row,) = record["rows"]
    assert set(row["seconds"]) == {"this tree", "HEAD", cpu.AUTHORS}
    ratio = row["authors_ratio"]
    assert isinstance(ratio, float) and ratio > 0
    assert ratio == pytest.approx(row["seconds"]["this tree"] / row["seconds"][cpu.AUTHORS])
    table = capsys.readouterr().out
    assert f"this tree / {cpu.AUTHORS} {ratio:.2f}" in table
