"""Hostile checkpoint files (issue 27): a small file cannot make us allocate gigabytes, and every
expected failure is the project's one-line error, never a traceback.

Each file here is a few KB. Where a limit needs more bytes than a test should write, the file
declares the size (a zip directory's entry, a safetensors header's config) and holds none."""

import io
import json
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save_file

import lmc.checkpoint
import lmc_cli
from lmc import ModelConfig, build_model, load_checkpoint, save_checkpoint
from lmc.errors import CheckpointError
from lmc.io import ZIP_RECORD_MARGIN, check_zip_records, safe_torch_load
from lmc.official import ours_to_official
from lmc.weights import PARAMETER_MARGIN


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def nothing_built(monkeypatch):
    """Fails the test if a model is built or a weight read: a refusal must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the refusal")

    monkeypatch.setattr(lmc.checkpoint, "build_model", refuse)
    monkeypatch.setattr(lmc.checkpoint, "load_file", refuse)
    monkeypatch.setattr("lmc.official.build_model", refuse)


def authors_state(**changes) -> dict[str, torch.Tensor]:
    """The authors' state dict of the tiny model, with some tensors replaced."""
    torch.manual_seed(0)
    state = ours_to_official(build_model(ModelConfig.preset("tiny")))
    state.update({f"module.{k}": v for k, v in changes.items()})
    return state


def tiny_header(**config) -> dict:
    return {
        "format": "lmc-checkpoint",
        "format_version": 1,
        "config": {**ModelConfig.preset("tiny").to_dict(), **config},
        "metadata": {},
    }


# ---------------------------------------------------------------- one byte, three command lines
@pytest.mark.parametrize(
    "argv",
    [
        ["health", "{f}", "--clips", "2"],
        ["convert", "{f}", "{tmp}/out"],
        ["test", "--checkpoint_load_file", "{f}", "--test_result_dir", "{tmp}/res"],
    ],
)
def test_a_one_byte_file_is_one_line_and_status_2_in_every_command(argv, tmp_path, capsys):
    path = tmp_path / "x.pt"
    path.write_bytes(b"\x80")  # a pickle's protocol marker, and nothing after it
    with pytest.raises(SystemExit) as stop:
        lmc_cli.main([a.format(f=path, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert (
        err
        == f"lmc {argv[0]}: {path} cannot be read (truncated or corrupted?): index out of range\n"
    )
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ a config that asks too much
def test_a_small_safetensors_asking_for_millions_of_slots_is_refused_before_building(
    tmp_path, nothing_built
):
    state = dict(build_model(ModelConfig.preset("tiny")).state_dict())
    path = tmp_path / "big.safetensors"
    header = tiny_header(memory_size=3_500_000, memory_dim=128)
    save_file(state, str(path), metadata={"lmc": json.dumps(header)})
    size = path.stat().st_size
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path} holds an invalid model config: ")
    limit = size // 2 + PARAMETER_MARGIN
    assert f"parameters: must be at most {limit:,} for this file (its own " in message
    assert "as float32 they would take 1.80 GB" in message


def test_declared_tensors_are_held_to_the_config_before_anything_is_read(tmp_path, nothing_built):
    state = dict(build_model(ModelConfig.preset("tiny")).state_dict())
    path = tmp_path / "m.safetensors"
    save_file(state, str(path), metadata={"lmc": json.dumps(tiny_header(memory_size=12))})
    with pytest.raises(
        CheckpointError, match=r"memory\.slots: checkpoint \(10, 8\) vs model \(12, 8\)"
    ):
        load_checkpoint(path)


def test_the_parameter_budget_of_a_file_is_its_size_plus_a_margin(tmp_path):
    model = build_model(ModelConfig.preset("tiny"))
    path = save_checkpoint(model, tmp_path / "m.safetensors")
    loaded, _ = load_checkpoint(path)  # its own model: within what its bytes hold
    assert all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    header = lmc.checkpoint.read_header(path)
    small = path.stat().st_size
    # The same config, counted against a file of fewer bytes than its weights need.
    count = sum(p.numel() for p in model.parameters())
    with pytest.raises(
        CheckpointError, match=f"must be at most {PARAMETER_MARGIN:,} for this file"
    ):
        lmc.checkpoint.config_from_header(
            {"config": {**header["config"], "memory_size": PARAMETER_MARGIN}}, path, file_bytes=0
        )
    assert lmc.checkpoint.config_from_header(header, path, file_bytes=small).memory_size == 10
    assert count < small // 2


# ----------------------------------------------------------------------- the authors' zip form
def deflated(state: dict[str, torch.Tensor]) -> bytes:
    """`torch.save(state)` with every record DEFLATE-compressed (torch.save stores them; torch's
    reader inflates either)."""
    saved = io.BytesIO()
    torch.save(state, saved)
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def declare_size(data: bytes, size: int) -> bytes:
    """The zip `data` with its largest record's uncompressed size set to `size` in its local
    header and the central directory: a declaration, no bytes behind it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
        central = archive.start_dir
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, size)
    name = info.filename.encode()
    while out[central : central + 4] == b"PK\x01\x02":
        length, extra, comment = struct.unpack_from("<HHH", out, central + 28)
        if out[central + 46 : central + 46 + length] == name:
            struct.pack_into("<I", out, central + 24, size)
            return bytes(out)
        central += 46 + length + extra + comment
    raise AssertionError(f"no central directory entry for {info.filename}")


def test_a_deflated_memory_of_60_million_rows_is_refused_from_the_zip_directory(
    tmp_path, nothing_built
):
    path = tmp_path / "authors.pt"
    data = deflated(authors_state(**{"memory.memory_w": torch.zeros(1000, 8)}))
    path.write_bytes(declare_size(data, 60_000_000 * 8 * 4))
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    size = path.stat().st_size
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == (
        f"{path}: its records declare {total:,} bytes ({total / 1e9:.2f} GB) unpacked, "
        f"{_memory_record(data)} alone 1,920,000,000 bytes; the limit for this file "
        f"({size:,} bytes on disk) is {size + ZIP_RECORD_MARGIN:,} bytes (its own size plus 1 MiB)"
    )


def _memory_record(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    return info.filename


def test_a_really_deflated_record_larger_than_the_file_is_refused(tmp_path):
    path = tmp_path / "authors.pt"
    rows = (ZIP_RECORD_MARGIN // 32) + 10_000  # 1.3 MB of zeros: a few KB deflated
    path.write_bytes(deflated(authors_state(**{"memory.memory_w": torch.zeros(rows, 8)})))
    assert path.stat().st_size < 200_000  # the tiny model's random weights, and zeros
    with pytest.raises(CheckpointError, match="the limit for this file"):
        safe_torch_load(path)
    # The same records within a higher bound load: the bound, not the compression, refused it.
    check_zip_records(path, max_bytes=10**8)


def test_a_zip_record_with_an_empty_name_is_refused(tmp_path):
    path = tmp_path / "empty.pt"
    saved = io.BytesIO()
    torch.save(authors_state(), saved)
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(path, "w") as zout:
        with zout.open(zipfile.ZipInfo(""), "w") as member:
            member.write(b"x")
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    with pytest.raises(CheckpointError, match="holds a zip record with an empty name"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"encoder.0.weight": torch.zeros(4)}, r"encoder\.0\.weight has shape \(4,\); expected 4 dimensions"),
        (
            {"convlstm_list.0.conv2d_h.weight": torch.zeros(32, 8, 5, 5)},
            r"ConvLSTM layer 0: conv2d_x\.weight \(32, 8, 3, 3\) and conv2d_h\.weight \(32, 8, 5, 5\)",
        ),
        (
            {"convlstm_list.1.conv2d_h.weight": torch.zeros(32, 9, 3, 3)},
            r"convlstm\.cells\.1\.weight: checkpoint \(32, 17, 3, 3\) vs model \(32, 16, 3, 3\)",
        ),
        ({"memory.memory_w": torch.zeros(1, 8).expand(3_000_000, 8)}, r"over 32 bytes of storage"),
        (
            {"convlstm_list.0.conv2d_h.weight": torch.zeros(32, 3000, 1, 1)},
            r"parameters: must be at most [\d,]+ for this file",
        ),
    ],
)  # fmt: skip
def test_a_malformed_authors_file_is_a_checkpoint_error(changes, message, tmp_path, nothing_built):
    path = tmp_path / "authors.pt"
    torch.save(authors_state(**changes), path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(str(path))


# ------------------------------------------------------------------- weights that cannot be right
@pytest.mark.parametrize("dtype", [torch.bool, torch.int8, torch.complex64])
@pytest.mark.parametrize("form", ["safetensors", "authors"])
def test_weights_that_are_not_floating_point_are_refused(dtype, form, tmp_path, nothing_built):
    if form == "safetensors":
        state = dict(build_model(ModelConfig.preset("tiny")).state_dict())
        state["memory.slots"] = torch.zeros(10, 8, dtype=dtype)
        path = tmp_path / "m.safetensors"
        save_file(state, str(path), metadata={"lmc": json.dumps(tiny_header())})
        name = "memory.slots"
    else:
        path = tmp_path / "authors.pt"
        torch.save(authors_state(**{"memory.memory_w": torch.zeros(10, 8, dtype=dtype)}), path)
        name = "module.memory.memory_w"
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(
        f"{path} holds weights that are not floating point ({name} is "
    )
    assert str(info.value).endswith("weights must be float16, bfloat16, float32 or float64")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("form", ["safetensors", "authors", "train state"])
def test_non_finite_weights_are_refused_naming_the_tensor(value, form, tmp_path):
    model = build_model(ModelConfig.preset("tiny"))
    with torch.no_grad():
        model.memory.slots[0, 0] = value
    if form == "safetensors":
        path = save_checkpoint(model, tmp_path / "m.safetensors")
        name = "memory.slots"
    elif form == "authors":
        path = tmp_path / "authors.pt"
        torch.save(ours_to_official(model), path)
        name = "memory.slots"
    else:
        from lmc.training.state import save_train_state

        path = tmp_path / "last.pt"
        optimizer = torch.optim.Adam(model.parameters())
        save_train_state(
            path, model, optimizer, iteration=1, data={"batch_index": 1}, best_val=None,
            train_config={}, metadata={},
        )  # fmt: skip
        name = "memory.slots"
    nan, inf = (1, 0) if value != value else (0, 1)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(
        f"{path} holds non-finite weights: {name} ({nan} NaN, {inf} infinite)"
    )


def test_the_slots_are_still_torch_randn_and_the_meta_count_draws_nothing():
    """The slots start as torch.randn's values (drawn by normal_ off the meta device, since on it
    normal_ imports sympy: seconds before a hostile config could be refused), and counting a
    model on the meta device leaves the random stream where it was."""
    from lmc.model import check_parameter_budget
    from lmc.nn.memory import MotionMemory

    torch.manual_seed(3)
    expected = torch.randn(10, 8)
    torch.manual_seed(3)  # the slots are MotionMemory's first draw
    memory = MotionMemory(1, (2, 4, 8), 8, 10, 8, 8, "local", 1.0)
    assert torch.equal(memory.slots.detach(), expected)
    state = torch.random.get_rng_state()
    check_parameter_budget(ModelConfig.preset("tiny", memory_size=3_500_000, memory_dim=128))
    assert torch.equal(torch.random.get_rng_state(), state)
