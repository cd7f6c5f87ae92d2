"""Property-based tests (hypothesis) of what reads files from outside: the upload decoders, the
model config validator and the safetensors checkpoint reader. Random and mutated inputs either
load, into values that keep the stated limits, or raise the project's own error naming the file
or the field, and the memory held meanwhile stays small.

The Hypothesis profile (tests/conftest.py) says how examples are drawn: under CI the same ones
on every run and no example database; elsewhere new ones each run, a failure replayed from the
database in .lmc-cache.
"""

import functools
import io
import json
import re
import struct
import tracemalloc
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save_file

from lmc import ModelConfig, build_model, load_checkpoint, save_checkpoint
from lmc.analysis import uploads
from lmc.analysis.headers import gif_layout, image_size
from lmc.analysis.uploads import decode_upload, read_npy
from lmc.checkpoint import config_from_header, read_header
from lmc.config import MAX_PARAMETERS
from lmc.errors import CheckpointError, ConfigError, InputError
from lmc.model import check_parameter_budget


def examples(n: int):
    """n examples; derandomization, database and deadline come from the profile."""
    return settings(
        max_examples=n, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )


# ------------------------------------------------------------------------------------ memory
BUDGET_MB = 64  # every input here is a few KB; a decoder that believes a header allocates GBs
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def _can_reset_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


RESIDENT_PEAK = _can_reset_peak()


@contextmanager
def peak_mb(report: list):
    """Appends to `report` the peak memory of the block above what the process held at its
    start, in MB: on Linux the resident high-water mark (reset through /proc/self/clear_refs),
    which counts every allocator (Pillow's, torch's, numpy's); elsewhere tracemalloc's peak of
    Python objects and numpy arrays."""
    if RESIDENT_PEAK:
        CLEAR_REFS.write_text("5")  # VmHWM := VmRSS
        start = _status_kb("VmRSS")
        try:
            yield
        finally:
            report.append((_status_kb("VmHWM") - start) / 1024)
    else:
        tracemalloc.start()
        try:
            yield
        finally:
            report.append(tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()


# --------------------------------------------------------------------------------- mutations
edits = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
        st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 16)),
        st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, ops, region: int | None = None) -> bytes:
    """`data` with byte edits at relative positions within its first `region` bytes."""
    out = bytearray(data)
    for op, where, arg in ops:
        pos = int(where * min(region or len(out), len(out)))
        if op == "set" and pos < len(out):
            out[pos] = arg
        elif op == "insert":
            out[pos:pos] = arg
        elif op == "delete":
            del out[pos : pos + arg]
        elif op == "cut":
            del out[max(pos, 1) :]
    return bytes(out)


# ----------------------------------------------------------------------------- upload samples
def _frames(t=10, h=16, w=16, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).integers(0, 128, size=(t, h, w)) * 2).astype(np.uint8)


def _image(frame: np.ndarray, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format=fmt)
    return out.getvalue()


def _gif(frames: np.ndarray) -> bytes:
    out = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


def _zip(frames: np.ndarray, fmt: str, suffix: str, method: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for t, frame in enumerate(frames):
            archive.writestr(f"clip/frame_{t}.{suffix}", _image(frame, fmt))
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


FRAME = {fmt: _image(_frames(t=2)[1], fmt) for fmt in ("PNG", "JPEG", "BMP", "GIF")}


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


UPLOADS = {
    "c.gif": _gif(_frames()),
    "png.zip": _zip(_frames(), "PNG", "png", zipfile.ZIP_STORED),
    "jpg.zip": _zip(_frames(), "JPEG", "jpg", zipfile.ZIP_DEFLATED),
    "bmp.zip": _zip(_frames(t=3), "BMP", "bmp", zipfile.ZIP_STORED),
    "gif.zip": _zip(_frames(t=3), "GIF", "gif", zipfile.ZIP_STORED),
    "u8.npy": _npy(_frames()),
    "f32.npy": _npy(_frames()[:, None].astype(np.float32) / 255),
}


def check_decoded(frames: np.ndarray, channels: int) -> None:
    """What every decoded upload is: (T, C, H, W) float32 in [0, 1] within the budgets."""
    t, c, h, w = frames.shape
    assert frames.dtype == np.float32
    assert t <= uploads.MAX_FRAMES and max(h, w) <= uploads.MAX_SIDE
    assert t * h * w <= uploads.MAX_PIXELS
    assert 0.0 <= frames.min() and frames.max() <= 1.0


@pytest.fixture(scope="module", autouse=True)
def _warm():
    # Plugins and codecs are imported on first use: not the memory of any one example.
    for name, data in UPLOADS.items():
        decode_upload(data, name, 1)


def decode_within_budget(data: bytes, name: str, channels: int) -> None:
    """Decodes `data`: a clip within the budgets, or an InputError that names the file; the
    peak memory meanwhile stays under BUDGET_MB."""
    report = []
    with peak_mb(report):
        try:
            frames = decode_upload(data, name, channels)
        except InputError as err:
            frames, message = None, str(err)
    assert report[0] < BUDGET_MB
    event("refused" if frames is None else "decoded")
    if frames is None:
        assert message.startswith(repr(name))  # the message names the file
    else:
        check_decoded(frames, channels)
        if not name.endswith(".npy"):
            assert frames.shape[1] == channels


@examples(250)
@given(name=st.sampled_from(sorted(UPLOADS)), ops=edits, channels=st.sampled_from([1, 3]))
def test_a_mutated_upload_decodes_within_budget_or_raises_input_error(name, ops, channels):
    decode_within_budget(mutate(UPLOADS[name], ops), name, channels)


@examples(150)
@given(
    fmt=st.sampled_from([("PNG", "png"), ("JPEG", "jpg"), ("BMP", "bmp"), ("GIF", "gif")]),
    ops=edits,
    channels=st.sampled_from([1, 3]),
)
def test_a_zip_of_a_mutated_frame_decodes_within_budget_or_raises_input_error(fmt, ops, channels):
    # A valid archive around a damaged frame: the frame's header reader and Pillow see it.
    frame = mutate(_image(_frames(t=1)[0], fmt[0]), ops)
    data = zip_of({f"frame_{t}.{fmt[1]}": frame if t == 0 else FRAME[fmt[0]] for t in range(10)})
    decode_within_budget(data, "m.zip", channels)


@examples(8)
@given(ops=edits)
def test_a_mutated_video_decodes_within_budget_or_raises_input_error(ops):
    iio = pytest.importorskip("imageio.v3")
    video = iio.imwrite("<bytes>", np.zeros((12, 32, 32, 3), np.uint8), extension=".mp4", fps=10)
    try:
        frames = decode_upload(mutate(video, ops, region=1024), "c.mp4", 1)
    except InputError as err:
        assert str(err).startswith("'c.mp4'")
    else:
        check_decoded(frames, 1)


@examples(40)
@given(
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF"]),
    h=st.integers(1, 300),
    w=st.integers(1, 300),
    mode=st.sampled_from(["L", "RGB"]),
    progressive=st.booleans(),
)
def test_image_size_reads_the_size_pillow_reads(fmt, h, w, mode, progressive):
    out = io.BytesIO()
    options = {"progressive": progressive} if fmt == "JPEG" else {}
    Image.new(mode, (w, h), color=7 if mode == "L" else (7, 8, 9)).save(out, fmt, **options)
    data = out.getvalue()
    assert image_size(data) == (fmt, h, w)
    with Image.open(io.BytesIO(data)) as image:  # the oracle
        assert image.size == (w, h)


@examples(25)
@given(t=st.integers(1, 8), h=st.integers(1, 40), w=st.integers(1, 40), seed=st.integers(0, 99))
def test_gif_layout_counts_the_frames_pillow_decodes(t, h, w, seed):
    data = _gif(_frames(t, h, w, seed))
    layout = gif_layout(data, max_frames=300)
    with Image.open(io.BytesIO(data)) as gif:  # the oracle
        assert (layout.frames, layout.height, layout.width) == (gif.n_frames, h, w)
    assert gif_layout(data, max_frames=1).frames == min(t, 2)  # stops past the limit


npy_descr = st.sampled_from(["|u1", "|b1", "<f4", ">f8", "<i4", "|O", "<c8", "|V4", "<U3"])
npy_shape = st.lists(
    st.one_of(st.integers(-2, 20), st.integers(2**31, 2**70)), min_size=0, max_size=5
).map(tuple)


@examples(150)
@given(descr=npy_descr, shape=npy_shape, fortran=st.booleans(), held=st.integers(0, 4096))
def test_an_npy_header_of_any_shape_loads_what_it_holds_or_raises_input_error(
    descr, shape, fortran, held
):
    out = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    np.lib.format.write_array_header_1_0(out, header)
    data = out.getvalue() + bytes(held)
    report = []
    with peak_mb(report):
        try:
            array = read_npy(data, "x.npy")
        except InputError as err:
            array, message = None, str(err)
    assert report[0] < BUDGET_MB
    event("refused" if array is None else "loaded")
    if array is None:
        assert message.startswith("x.npy")
    else:
        assert array.shape == shape and array.dtype == np.dtype(descr)
        assert array.nbytes <= held


# ------------------------------------------------------------------------------------ configs
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
TINY = ModelConfig.preset("tiny").to_dict()
widths = st.integers(1, 48)
# Values of each field's type near its range, so that some configs are valid.
PLAUSIBLE = {
    **{key: widths for key, value in TINY.items() if isinstance(value, int)},
    "image_size": st.sampled_from([16, 32, 48, 64, 40]),
    "lstm_layers": st.integers(0, 6),
    "image_channels": st.integers(0, 4),
    "encoder_channels": st.lists(widths, min_size=1, max_size=3),
    "motion_channels": st.lists(widths, min_size=2, max_size=4),
    "memory": st.booleans(),
    "query": st.sampled_from(["local", "global", "pooled"]),
    "temperature": st.floats(-1, 4),
    "query_padding": st.sampled_from(["zeros", "replicate", "reflect"]),
    "output_activation": st.sampled_from(["none", "sigmoid", "tanh"]),
}
extreme = st.one_of(st.integers(-(2**12), 2**12), st.just(10**8 + 1), st.just(10**400))


@st.composite
def config_dicts(draw) -> tuple[dict, list[str]]:
    """The tiny preset with some fields replaced and perhaps an unknown key: (dict, changed)."""
    values = dict(TINY)
    changed = draw(st.lists(st.sampled_from(sorted(TINY)), unique=True, max_size=4))
    for key in changed:
        plausible = PLAUSIBLE.get(key, json_values)
        values[key] = draw(st.one_of(plausible, plausible, json_values, extreme))
    if draw(st.integers(0, 4)) == 0:
        key = draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in TINY))
        values[key] = draw(json_values)
        changed.append(key)
    return values, changed


def _same(a, b) -> bool:
    # JSON holds lists where the config holds tuples.
    return (list(a) == list(b)) if isinstance(a, (list, tuple)) else (a == b and type(a) is type(b))


@examples(300)
@given(case=config_dicts())
def test_a_config_from_any_dict_is_that_config_or_a_config_error_naming_a_field(case):
    values, changed = case
    try:
        config = ModelConfig.from_dict(values)
    except ConfigError as err:
        event("refused")
        assert any(str(key) in str(err) or repr(key) in str(err) for key in changed), str(err)
        return
    event("valid")
    assert all(_same(getattr(config, key), values[key]) for key in TINY)
    assert ModelConfig.from_dict(config.to_dict()) == config


@examples(60)
@given(value=json_values)
def test_a_config_that_is_no_mapping_is_a_config_error(value):
    if isinstance(value, dict) and not value:
        return  # {}: every field at its default, a valid config
    with pytest.raises(ConfigError):
        ModelConfig.from_dict(value)


@examples(120)
@given(case=config_dicts(), wrap=st.sampled_from(["config", "missing", "not a dict"]))
def test_a_checkpoint_config_is_counted_within_budget_or_a_checkpoint_error(case, wrap):
    values, _ = case
    header = {"config": values, "missing": {}, "not a dict": {"config": [values]}}[wrap]
    report = []
    with peak_mb(report):
        try:
            config = config_from_header(header, Path("x.safetensors"))
        except CheckpointError as err:
            config, message = None, str(err)
    assert report[0] < BUDGET_MB
    event("refused" if config is None else "counted")
    if config is None:
        assert message.startswith("x.safetensors holds an invalid model config")
    else:
        assert wrap == "config" and check_parameter_budget(config) <= MAX_PARAMETERS


# -------------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(build_model(ModelConfig.preset("tiny")), path, step=3, model_card="card")
    return path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "x.safetensors"


def check_loaded(path: Path) -> None:
    """What every checkpoint that loads is: the model of its header's config (whose weights
    load_state_strict checked for shape), in eval mode, with metadata as a dict."""
    model, metadata = load_checkpoint(path)
    assert model.config == ModelConfig.from_dict(read_header(path)["config"])
    assert isinstance(metadata, dict) and not model.training


def declared_mb(path: Path) -> float:
    """MB of the float32 weights of the model that a checkpoint's header describes (0 when it
    describes none): building that model is legitimate, up to the parameter budget."""
    try:
        return (
            4 * check_parameter_budget(ModelConfig.from_dict(read_header(path)["config"])) / 2**20
        )
    except (ValueError, KeyError, TypeError):  # LmcError is a ValueError
        return 0.0


def load_within_budget(path: Path) -> None:
    """Loads the checkpoint at `path`, or gets a CheckpointError naming it; the peak memory stays
    under BUDGET_MB beyond twice the weights of the model its header declares."""
    report = []
    with peak_mb(report):
        try:
            check_loaded(path)
            event("loaded")
        except CheckpointError as err:
            event("refused")
            assert str(err).startswith(str(path))
    assert report[0] < BUDGET_MB + 2 * declared_mb(path)


@examples(150)
@given(ops=edits)
def test_a_checkpoint_with_a_mutated_header_loads_or_raises_checkpoint_error(
    tiny_checkpoint, scratch, ops
):
    header_end = 8 + int.from_bytes(tiny_checkpoint[:8], "little")
    scratch.write_bytes(mutate(tiny_checkpoint, ops, region=header_end + 16))
    load_within_budget(scratch)


@st.composite
def lmc_headers(draw):
    """Our checkpoint header with a few of its values (or the whole of it) replaced."""
    header = {
        "format": "lmc-checkpoint",
        "format_version": 1,
        "config": dict(TINY),
        "metadata": {"step": 3},
    }
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    for key in draw(st.lists(st.sampled_from(sorted(header)), unique=True, max_size=2)):
        header[key] = draw(json_values)
    if draw(st.booleans()):
        header["config"] = draw(config_dicts())[0]
    return header


@pytest.fixture(scope="module")
def tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return dict(build_model(ModelConfig.preset("tiny")).state_dict())


@examples(100)
@given(header=lmc_headers())
def test_a_checkpoint_with_any_lmc_header_loads_or_raises_checkpoint_error(
    tiny_state, scratch, header
):
    save_file(tiny_state, str(scratch), metadata={"lmc": json.dumps(header)})
    load_within_budget(scratch)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("[" * 100_000 + "]" * 100_000, "has a corrupted lmc header: maximum recursion depth"),
        ('{"a": ' + "1" * 5000 + "}", "has a corrupted lmc header: Exceeds the limit"),
        ("[1, 2]", "has an lmc header of type list; expected a JSON object"),
        (
            '{"format": "lmc-checkpoint", "format_version": 1, "metadata": [1]}',
            "has metadata of type list; expected a JSON object",
        ),
    ],
)
def test_hostile_lmc_headers_are_named(scratch, raw, message):
    save_file({"w": torch.zeros(1)}, str(scratch), metadata={"lmc": raw})
    with pytest.raises(CheckpointError, match=re.escape(f"{scratch} {message}")):
        read_header(scratch)


def test_an_oversized_width_is_a_config_error_not_an_overflow():
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({**TINY, "memory_dim": 10**400})
    assert str(info.value).startswith("invalid ModelConfig: memory_dim=1000")
    assert str(info.value).endswith(": must be at most 100,000,000")


# ------------------------------------------------------------------ limits a test can reach
# Issue 27: inputs of a few KB never reach the real limits, so a property that only decodes them
# passes with every limit removed. Here the limits are lowered through their parameters (or the
# sizes are declared, not written), and each property says exactly when a file is refused.
def _distinct_frames(t: int, h: int, w: int, seed: int) -> np.ndarray:
    """(t, h, w) uint8 whose frames all differ (a GIF writer merges equal frames)."""
    frames = _frames(t, h, w, seed)
    frames[:, 0, 0] = np.arange(t) * 2
    return frames


def _first_broken(t: int, h: int, w: int, limits) -> str | None:
    """The message fragment of the first limit (t, h, w) breaks, in the order they are checked."""
    if t > limits.frames:
        return f"at most {limits.frames} are accepted"
    if max(h, w) > limits.side:
        return f"each side may be at most {limits.side}"
    if t * h * w > limits.pixels:
        return f"at most {limits.pixels:,} are accepted"
    return None


@examples(60)
@given(
    kind=st.sampled_from(["c.gif", "png.zip", "u8.npy"]),
    t=st.integers(1, 6),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    seed=st.integers(0, 9),
    frames=st.integers(1, 6),
    side=st.integers(1, 12),
    pixels=st.integers(1, 6 * 12 * 12),
)
def test_an_upload_decodes_exactly_when_it_keeps_every_lowered_limit(
    kind, t, h, w, seed, frames, side, pixels
):
    limits = uploads.UploadLimits(frames=frames, side=side, pixels=pixels)
    clip = _distinct_frames(t, h, w, seed)
    if kind == "c.gif":
        data = _gif(clip)
    elif kind == "png.zip":
        data = _zip(clip, "PNG", "png", zipfile.ZIP_STORED)
    else:
        data = _npy(clip)
    broken = _first_broken(t, h, w, limits)
    try:
        decoded = decode_upload(data, kind, 1, limits)
    except InputError as err:
        event(f"refused: {broken}")
        assert broken is not None and broken in str(err), (broken, str(err))
        return
    assert broken is None
    assert decoded.shape == (t, 1, h, w)
    np.testing.assert_allclose(decoded[:, 0], clip / 255, rtol=0, atol=1e-6)


@examples(40)
@given(
    t=st.integers(1, 5),
    frame_file_bytes=st.integers(50, 400),
    zip_bytes=st.integers(50, 1500),
)
def test_a_zip_is_refused_exactly_when_its_directory_passes_a_lowered_byte_limit(
    t, frame_file_bytes, zip_bytes
):
    data = _zip(_distinct_frames(t, 8, 8, 0), "PNG", "png", zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = [info.file_size for info in archive.infolist()]
    limits = uploads.UploadLimits(frame_file_bytes=frame_file_bytes, zip_bytes=zip_bytes)
    try:
        decode_upload(data, "z.zip", 1, limits)
    except InputError as err:
        if max(sizes) > frame_file_bytes:
            assert f"a frame file may be at most {frame_file_bytes:,} bytes" in str(err)
        else:
            assert sum(sizes) > zip_bytes
            assert f"at most {zip_bytes:,} bytes are accepted" in str(err)
        return
    assert max(sizes) <= frame_file_bytes and sum(sizes) <= zip_bytes


@examples(60)
@given(
    blocks=st.integers(0, 40),
    size=st.integers(1, 255),
    max_sub_blocks=st.integers(1, 60),
    max_extension_bytes=st.integers(0, 6000),
)
def test_a_gif_walk_is_refused_exactly_when_it_passes_its_lowered_budget(
    blocks, size, max_sub_blocks, max_extension_bytes
):
    # One 4x4 frame whose LZW data is one sub-block and a terminator, after a comment of
    # `blocks` sub-blocks of `size` bytes and its terminator: this file's counts, by construction.
    comment = b"!\xfe" + (bytes([size]) + b"c" * size) * blocks + b"\x00"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 4, 4, 0) + b"\x02\x02\x4c\x01\x00"
    data = b"GIF89a" + struct.pack("<HHBBB", 4, 4, 0, 0, 0) + comment + frame + b";"
    sub_blocks, extension_bytes = blocks + 1 + 2, blocks * size
    # The walk counts as it goes: the comment's sub-blocks first, then the frame's two.
    over_blocks = min(blocks + 1, sub_blocks) > max_sub_blocks
    over_bytes = extension_bytes > max_extension_bytes
    try:
        layout = gif_layout(
            data,
            300,
            "g.gif",
            max_sub_blocks=max_sub_blocks,
            max_extension_bytes=max_extension_bytes,
        )
    except InputError as err:
        message = str(err)
        if "sub-blocks" in message:
            assert f"more than {max_sub_blocks:,} data sub-blocks" in message
            assert sub_blocks > max_sub_blocks
        else:
            assert f"more than {max_extension_bytes:,} bytes of extension data" in message
            assert over_bytes
        return
    assert not over_blocks and not over_bytes and sub_blocks <= max_sub_blocks
    assert (layout.frames, layout.height, layout.width) == (1, 4, 4)


@examples(50)
@given(
    memory_size=st.integers(1, 200_000),
    memory_dim=st.integers(1, 64),
    file_bytes=st.integers(0, 2 * 10**7),
)
def test_a_checkpoint_config_is_refused_exactly_beyond_what_its_file_can_hold(
    memory_size, memory_dim, file_bytes
):
    # The tiny model with a memory of up to 12.8 M parameters against files of up to 20 MB: both
    # sides of the bound (file_bytes / 2 + PARAMETER_MARGIN) are drawn.
    from lmc.weights import PARAMETER_MARGIN

    values = {**TINY, "memory_size": memory_size, "memory_dim": memory_dim}
    count = check_parameter_budget(ModelConfig.from_dict(values))
    limit = min(MAX_PARAMETERS, file_bytes // 2 + PARAMETER_MARGIN)
    try:
        config_from_header({"config": values}, Path("x.safetensors"), file_bytes=file_bytes)
    except CheckpointError as err:
        event("refused")
        assert count > limit
        assert f"{count:,} parameters: must be at most {limit:,} for this file" in str(err)
        return
    event("counted")
    assert count <= limit


@pytest.fixture(scope="module")
def authors_zip() -> bytes:
    """The tiny model's state dict in the authors' form, as torch.save writes it."""
    from lmc.official import ours_to_official

    torch.manual_seed(0)
    out = io.BytesIO()
    torch.save(ours_to_official(build_model(ModelConfig.preset("tiny"))), out)
    return out.getvalue()


def _declare(data: bytes, size: int) -> bytes:
    """`data` (a zip) with its largest record declared `size` bytes unpacked, local header and
    central directory alike: a declaration with no bytes behind it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
        central = archive.start_dir
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, size)
    while out[central : central + 4] == b"PK\x01\x02":
        length, extra, comment = struct.unpack_from("<HHH", out, central + 28)
        if out[central + 46 : central + 46 + length] == info.filename.encode():
            struct.pack_into("<I", out, central + 24, size)
        central += 46 + length + extra + comment
    return bytes(out)


@examples(40)
@given(declared=st.one_of(st.integers(0, 2**21), st.integers(2**21, 2**28)))
def test_an_authors_zip_record_is_refused_exactly_beyond_the_file_size(
    authors_zip, scratch, declared
):
    from lmc.io import ZIP_RECORD_MARGIN

    path = scratch.with_suffix(".pt")
    path.write_bytes(_declare(authors_zip, declared))
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    limit = path.stat().st_size + ZIP_RECORD_MARGIN
    report = []
    with peak_mb(report):
        try:
            load_checkpoint(path)
            loaded = True
        except CheckpointError as err:
            loaded, message = False, str(err)
    assert report[0] < BUDGET_MB
    if total > limit:
        event("refused by the bound")
        assert not loaded and f"the limit for this file ({path.stat().st_size:,} bytes" in message
    else:
        event("within the bound")
        assert loaded or "the limit for this file" not in message


# Replacements of one tensor of an authors' state dict: shapes of any rank (empty dimensions
# too) and every dtype a state dict may hold.
authors_dtypes = st.sampled_from(
    [
        torch.float32,
        torch.float16,
        torch.float64,
        torch.int64,
        torch.uint8,
        torch.bool,
        torch.complex64,
    ]
)
authors_shapes = st.lists(st.integers(0, 40), min_size=0, max_size=5).map(tuple)


@st.composite
def authors_edits(draw):
    keys = authors_keys()
    op = draw(st.sampled_from(["replace", "delete", "add", "scale"]))
    key = draw(st.sampled_from(keys))
    return (
        op,
        key,
        draw(authors_shapes),
        draw(authors_dtypes),
        draw(st.sampled_from([1.0, float("nan"), float("inf")])),
    )


@functools.cache
def authors_keys() -> list[str]:
    """The keys of the tiny model's authors' state dict."""
    from lmc.official import ours_to_official

    return sorted(ours_to_official(build_model(ModelConfig.preset("tiny"))))


@examples(40)
@given(
    edits=st.lists(authors_edits(), min_size=1, max_size=3), dataset=st.sampled_from([None, "kth"])
)
def test_an_edited_authors_file_loads_or_raises_checkpoint_error(
    authors_zip, scratch, edits, dataset
):
    """The authors' .pt path with tensors replaced (any rank, empty dimensions, any dtype),
    removed, added or made non-finite: it loads, into a model whose every weight is the file's
    (cast to float32), or raises a CheckpointError naming the file, within the memory budget."""
    state = torch.load(io.BytesIO(authors_zip), weights_only=True)
    for op, key, shape, dtype, scale in edits:
        if op == "replace":
            state[key] = torch.zeros(shape, dtype=dtype)
        elif op == "delete":
            state.pop(key, None)
        elif op == "add":
            state[key + "_extra"] = torch.zeros(shape)
        elif key in state and state[key].is_floating_point() and state[key].numel():
            state[key] = state[key].clone()
            state[key].view(-1)[0] = scale
    path = scratch.with_suffix(".pt")
    torch.save(state, path)
    report = []
    with peak_mb(report):
        try:
            model, _ = load_checkpoint(path, dataset=dataset)
        except CheckpointError as err:
            model, message = None, str(err)
    assert report[0] < BUDGET_MB
    event("refused" if model is None else "loaded")
    if model is None:
        assert message.startswith(str(path)), message
        return
    from lmc.official import ours_to_official

    back = ours_to_official(model)
    assert set(back) == set(state)
    for key, value in state.items():
        assert value.is_floating_point() and bool(torch.isfinite(value).all())
        torch.testing.assert_close(back[key], value.float(), rtol=0, atol=0)


@examples(25)
@given(
    videos=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 10), st.integers(1, 10)), min_size=1, max_size=3
    ),
    frame_pixels=st.integers(1, 100),
    cache_bytes=st.integers(1, 600),
)
def test_a_frame_folder_is_read_exactly_when_it_keeps_its_lowered_limits(
    tmp_path_factory, videos, frame_pixels, cache_bytes
):
    from lmc.data.folders import FrameFolderDataset, write_video_frames
    from lmc.data.frame_cache import FrameFolderError, FrameLimits

    root = tmp_path_factory.mktemp("folder")
    h, w = videos[0][1:]  # one frame size for the whole folder (its own size is kept)
    for index, (t, _, _) in enumerate(videos):
        write_video_frames(root / f"video_{index:05d}", _frames(t, h, w, index))
    total = sum(t for t, _, _ in videos)
    limits = FrameLimits(frame_pixels=frame_pixels, cache_bytes=cache_bytes)
    try:
        dataset = FrameFolderDataset(root, 1, split="test", limits=limits)
    except FrameFolderError as err:
        if h * w > frame_pixels:
            assert f"a frame file may hold at most {frame_pixels:,}" in str(err)
        else:
            assert total * h * w > cache_bytes
            assert f"the limit for a frame folder is {cache_bytes:,} bytes" in str(err)
        return
    assert h * w <= frame_pixels and total * h * w <= cache_bytes
    assert len(dataset) == total and dataset.frame_shape == (1, h, w)
