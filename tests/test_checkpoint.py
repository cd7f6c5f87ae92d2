import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import clip
from official_oracle import official_forward

from lmc import ModelConfig, build_model, import_official, load_checkpoint, save_checkpoint
from lmc.checkpoint import FORMAT_VERSION, CheckpointError, read_header
from lmc.official import ours_to_official

TSV = Path(__file__).parent / "data" / "official-state-dict.tsv"


def official_shapes() -> dict[str, tuple[int, ...]]:
    rows = TSV.read_text().splitlines()[1:]
    return {key: parse_shape(shape) for key, shape in (row.split("\t") for row in rows)}


def parse_shape(text: str) -> tuple[int, ...]:
    """ "(64, 1, 3, 3)" or "(64,)" -> the tuple of ints."""
    return tuple(int(n) for n in text.strip().strip("()").split(",") if n.strip())


def random_official_state(seed=0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g) * 0.05 for k, s in official_shapes().items()}


def test_round_trip_gives_identical_outputs_and_metadata(tiny_model, tmp_path):
    path = save_checkpoint(
        tiny_model, tmp_path / "m.safetensors", step=12, metrics={"mse": 1.5}, model_card="hi"
    )
    model, meta = load_checkpoint(path)
    assert meta["step"] == 12 and meta["metrics"] == {"mse": 1.5} and meta["model_card"] == "hi"
    assert model.config == tiny_model.config
    short = clip()
    a, b = tiny_model.predict(short, 3), model.predict(short, 3)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.memory.weights, b.memory.weights)
    assert read_header(path)["format_version"] == FORMAT_VERSION


def test_save_is_atomic_and_leaves_no_temporary_files(tiny_model, tmp_path):
    save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_checkpoint(tiny_model, tmp_path / "m.safetensors", step=object())
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
    load_checkpoint(tmp_path / "m.safetensors")  # the earlier file is intact


def test_checkpoint_follows_the_umask_not_the_writers_0600(tiny_model, tmp_path):
    umask = os.umask(0o022)
    try:
        path = save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by the project's other users


def test_truncated_file_gets_a_clear_error(tiny_model, tmp_path):
    path = save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_garbage_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.safetensors")


def _rewrite_header(path, change):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["lmc"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    change(header)
    save_file(tensors, str(path), metadata={"lmc": json.dumps(header)})


def test_unknown_format_version(tiny_model, tmp_path):
    path = save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    _rewrite_header(path, lambda h: h.update(format_version=99))
    with pytest.raises(CheckpointError, match="format_version 99; this lmc reads version 1"):
        load_checkpoint(path)


def test_config_that_does_not_match_the_weights_lists_them(tiny_model, tmp_path):
    path = save_checkpoint(tiny_model, tmp_path / "m.safetensors")
    _rewrite_header(path, lambda h: h["config"].update(memory_size=12, lstm_layers=3))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    text = str(err.value)
    assert "missing from the checkpoint: convlstm.cells.2.bias_h" in text
    assert "memory.slots: checkpoint (10, 8) vs model (12, 8)" in text


def test_pickled_objects_are_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(CheckpointError, match="unpickling arbitrary Python objects"):
        load_checkpoint(path)
    assert not marker.exists()


def test_the_official_keys_map_one_to_one():
    state = random_official_state()
    model = build_model("paper-mnist")
    back = ours_to_official(model)
    assert {k: tuple(v.shape) for k, v in back.items()} == official_shapes()
    assert len(state) == 65


@pytest.mark.parametrize("phase", [1, 2])
def test_official_import_computes_the_published_function(tmp_path, phase):
    state = random_official_state()
    path = tmp_path / "official.pt"
    torch.save(state, path)  # as the authors' code saves it: a plain state dict with module.
    model = import_official(path, dataset="movingmnist")
    assert model.config == ModelConfig.preset("paper-mnist")
    short, long = clip(1, 10, 1, 64, seed=1), clip(1, 20, 1, 64, seed=2)
    with torch.no_grad():
        ours = model(short, long, out_len=3, phase=phase)
        ref_frames, ref_weights = official_forward(state, short, long, 3, phase)
    torch.testing.assert_close(ours.memory.weights, ref_weights, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.frames, ref_frames, rtol=1e-4, atol=1e-5)


def test_official_kth_import_has_a_sigmoid_and_matches(tmp_path):
    state = random_official_state(seed=3)
    torch.save(state, tmp_path / "kth.pt")
    model, meta = load_checkpoint(tmp_path / "kth.pt", dataset="kth")
    assert meta["format"] == "official" and model.config.image_size == 128
    short = clip(1, 9, 1, 32, seed=4)  # the function is defined at any side that divides by 16
    with torch.no_grad():
        ours = model(short, out_len=2).frames
        ref, _ = official_forward(state, short, None, 2, 2, sigmoid=True)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_official_file_that_is_not_lmc_is_named(tmp_path):
    torch.save({"module.fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an LMC-Memory checkpoint"):
        import_official(tmp_path / "other.pt")


@pytest.mark.slow
def test_convert_cli_writes_our_format(tmp_path):
    state = random_official_state()
    torch.save(state, tmp_path / "official.pt")
    out = tmp_path / "converted"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmc.convert",
            str(tmp_path / "official.pt"),
            str(out),
            "--dataset",
            "movingmnist",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    model, meta = load_checkpoint(out / "official.safetensors")
    assert meta["source"].endswith("official.pt") and meta["dataset"] == "movingmnist"
    direct = import_official(tmp_path / "official.pt")
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), direct.state_dict().values(), strict=True)
    )


def test_a_safetensors_header_whose_length_starts_like_a_pickle_still_loads(tiny_model, tmp_path):
    """The header length is the file's first 8 bytes; a low byte of 0x80 is also a pickle's
    protocol marker, and such a file was once read as a torch pickle and refused."""
    path = tmp_path / "m.safetensors"
    for pad in range(256):
        save_checkpoint(tiny_model, path, note="x" * pad)
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    model, metadata = load_checkpoint(path)
    assert metadata["note"] == "x" * pad
    for name, value in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], value)


def test_a_safetensors_file_behind_a_pickle_marker_is_a_checkpoint_error(tmp_path):
    # Found by the property test: one 0x80 byte inserted before a valid file. torch.load hands it
    # to its safetensors reader, whose own error must not escape.
    good = save_checkpoint(build_model(ModelConfig.preset("tiny")), tmp_path / "t.safetensors")
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"\x80" + good.read_bytes())
    with pytest.raises(
        CheckpointError, match=r"x.safetensors cannot be read \(truncated or corrupted\?\)"
    ):
        load_checkpoint(bad)
