"""Names read from files stay inside their folder: lmc.paths, and the files the dashboard reads
beside a checkpoint."""

import os

import pytest

from dashboard.settings import beside
from lmc.errors import DataError
from lmc.paths import bare_name, inside


@pytest.fixture
def root(tmp_path):
    """tmp_path/root holding ok.npy, beside tmp_path/secret.txt that nothing may reach."""
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "ok.npy").write_bytes(b"ours")
    (tmp_path / "secret.txt").write_text("not yours")
    return folder


def test_a_bare_name_of_the_pattern_is_joined_to_its_root(root):
    assert inside(root, "ok.npy", r"ok\.npy", source="index") == root / "ok.npy"
    assert inside(root, "new.npy", source="index") == root / "new.npy"  # need not exist yet
    assert bare_name("a..b.npy", source="index") == "a..b.npy"  # dots inside a name are fine


@pytest.mark.parametrize(
    "name, message",
    [
        ("../secret.txt", "is not a bare file name"),
        ("sub/../../secret.txt", "is not a bare file name"),
        ("/etc/passwd", "is not a bare file name"),
        ("..", "is not a file name"),
        ("", "is not a file name"),
        (None, "is not a file name"),
        (7, "is not a file name"),
        ("a\0b", "is not a file name"),
    ],
)
def test_folders_absolute_paths_and_non_names_are_refused(root, name, message):
    with pytest.raises(DataError, match=f"^index.json: .*{message}"):
        inside(root, name, source="index.json")


def test_a_name_of_another_pattern_is_refused(root):
    with pytest.raises(DataError, match=r"'ok\.npy' does not match the expected frames-.*"):
        inside(root, "ok.npy", r"frames-[0-9a-f]{16}\.npy", source="index.json")


def test_symbolic_links_may_point_inside_but_not_out(root, tmp_path):
    (root / "alias.npy").symlink_to(root / "ok.npy")
    assert inside(root, "alias.npy", source="index").read_bytes() == b"ours"
    (root / "out.npy").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(DataError, match=r"out\.npy is a symbolic link to .*secret\.txt, outside"):
        inside(root, "out.npy", source="index")
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(DataError, match="cannot be resolved|outside"):
        inside(root, "loop", source="index")


def test_the_dashboard_reads_no_link_out_of_a_checkpoint_folder(tmp_path):
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    checkpoint = run / "last.safetensors"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "private.md").write_text("private")
    os.symlink(tmp_path / "private.md", run / "MODEL_CARD.md")
    (run / "metrics.jsonl").write_text('{"iteration": 1}\n')
    assert beside(checkpoint, "MODEL_CARD.md") is None
    assert beside(checkpoint, "metrics.jsonl") == run / "metrics.jsonl"
    assert beside(checkpoint, "last.health.json") is None  # absent
