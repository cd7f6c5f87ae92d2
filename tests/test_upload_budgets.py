"""Uploads are held to their frame and pixel budgets by what their headers declare, before anything
is decoded: small crafted files that declare huge clips are refused with a message naming the
value and the limit, and the memory traced meanwhile stays small.

tracemalloc sees Python objects and numpy arrays (a decoded 1024x1024 frame is 1 MB of numpy
array), not Pillow's or ffmpeg's own buffers; the crafted files here hold no pixel data, so a
decoder that got as far as Pillow would fail in Pillow, not quietly allocate.
"""

import io
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from lmc.analysis import uploads
from lmc.analysis.uploads import InputError, decode_upload, read_npy

SMALL_MB = 4  # a refusal from a header allocates next to nothing


def refused(data: bytes, filename: str, decode=decode_upload) -> tuple[str, float]:
    """The InputError message of decoding `data`, and the peak traced memory meanwhile (MB)."""
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            decode(data, filename) if decode is read_npy else decode(data, filename, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), peak / 2**20


# ----------------------------------------------------------------------- crafted image headers
def gif_header(width: int, height: int, frames: list[tuple[int, int, int, int]]) -> bytes:
    """A GIF of this logical screen whose frames (left, top, width, height) each hold one
    empty LZW stream: a header Pillow opens, with no pixels behind it."""
    out = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    for left, top, w, h in frames:
        out += b"," + struct.pack("<HHHHB", left, top, w, h, 0) + b"\x02\x02\x4c\x01\x00"
    return out + b";"


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", 0) + b"IEND" + b"\xaeB`\x82"


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, 0, 0, 0, 256, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 1024, 0, 0, 54 + 1024) + info + bytes(1024)


def zip_of(members: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_gif_declaring_65535_squared_is_refused_from_its_header():
    data = gif_header(65535, 65535, [(0, 0, 65535, 65535)])
    assert len(data) < 40
    message, peak = refused(data, "huge.gif")
    assert message == "'huge.gif' has frames of 65535x65535; each side may be at most 1024"
    assert peak < SMALL_MB


def test_a_gif_frame_reaching_past_its_screen_counts_at_its_extent():
    # Pillow grows the canvas to a frame that reaches past the screen: 16x16 becomes 120000^2.
    data = gif_header(16, 16, [(0, 0, 16, 16), (60000, 60000, 60000, 60000)])
    message, peak = refused(data, "grows.gif")
    assert message == "'grows.gif' has frames of 120000x120000; each side may be at most 1024"
    assert peak < SMALL_MB


def test_gif_frame_count_and_pixels_come_from_its_blocks():
    many = gif_header(1, 1, [(0, 0, 1, 1)] * 5000)
    message, peak = refused(many, "long.gif")
    assert message == "'long.gif' has more than 300 frames; at most 300 are accepted"
    assert peak < SMALL_MB
    # 20 one-pixel frames on a 1024x1024 screen decode to 20 full canvases.
    wide = gif_header(1024, 1024, [(0, 0, 1, 1)] * 20)
    message, peak = refused(wide, "wide.gif")
    assert message == (
        "'wide.gif' has 20 frames of 1024x1024, 21 M pixels; at most 17 M are accepted "
        "(use fewer or smaller frames)"
    )
    assert peak < SMALL_MB


@pytest.mark.parametrize(
    "member, header",
    [
        ("big.png", png_header(65535, 65535)),
        ("big.jpg", jpeg_header(65535, 65535)),
        ("big.bmp", bmp_header(65535, -65535)),  # a negative height: rows stored top-down
        ("big.gif", gif_header(65535, 65535, [(0, 0, 65535, 65535)])),
    ],
)
def test_a_zipped_frame_declaring_65535_squared_is_refused_from_its_header(member, header):
    message, peak = refused(zip_of({member: header}), "bomb.zip")
    if member.endswith(".gif"):  # the block walk reads the size; the budget refuses it
        assert message == (
            f"'bomb.zip': {member} has frames of 65535x65535; each side may be at most 1024"
        )
    else:  # Pillow's lazy open reads the header, and its pixel limit refuses it there
        limit = 2 * Image.MAX_IMAGE_PIXELS
        assert (
            message == f"'bomb.zip': {member} declares more than {limit:,} pixels, Pillow's limit"
        )
    assert peak < SMALL_MB


def test_a_zip_of_many_large_frames_is_refused_before_any_is_decoded():
    # 300 frames of 1024x1024 zeros: 1 MB of ZIP that used to decode to 300 MB before its
    # pixel budget was checked (1.15 GB as RGB).
    frame = io.BytesIO()
    Image.new("L", (1024, 1024)).save(frame, format="PNG")
    data = zip_of({f"frame_{t:03d}.png": frame.getvalue() for t in range(300)})
    assert len(data) < 2 * 2**20
    message, peak = refused(data, "frames.zip")
    assert message == (
        "'frames.zip' has 300 frames of 1024x1024, 315 M pixels; at most 17 M are accepted "
        "(use fewer or smaller frames)"
    )
    assert peak < SMALL_MB


def test_a_zip_with_too_many_members_is_refused_by_its_directory():
    data = zip_of({f"f{t}.png": b"" for t in range(301)})
    message, peak = refused(data, "many.zip")
    assert message == "'many.zip' has 301 frames; at most 300 are accepted"
    assert peak < SMALL_MB


def test_a_zip_bomb_member_is_refused_by_its_directory_and_never_unpacked():
    data = zip_of({"a.png": bytes(17 * 2**20)}, method=zipfile.ZIP_DEFLATED)
    assert len(data) < 100_000
    message, peak = refused(data, "bomb.zip")
    assert message == "'bomb.zip': a.png unpacks to 17 MB; a frame file may be at most 16 MB"
    assert peak < SMALL_MB


def test_a_zip_member_that_understates_its_size_is_cut_at_the_declared_size():
    # 8 MB of zeros whose directory and local header claim 100 bytes. Read with that bound,
    # zipfile inflates 100 bytes, whose CRC differs; `ZipFile.read` inflated all 8 MB first.
    data = bytearray(zip_of({"a.png": bytes(8 * 2**20)}, method=zipfile.ZIP_DEFLATED))
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = struct.pack("<I", 100)
    data[central + 24 : central + 28] = struct.pack("<I", 100)
    message, peak = refused(bytes(data), "liar.zip")
    assert message.startswith("'liar.zip': a.png cannot be unpacked: Bad CRC-32")
    assert peak < SMALL_MB


def test_zip_methods_that_inflate_whole_chunks_are_refused():
    data = zip_of({"a.png": bytes(1000)}, method=zipfile.ZIP_BZIP2)
    message, _ = refused(data, "x.zip")
    assert message == (
        "'x.zip': a.png is compressed with method 12; only stored (0) and deflated (8) members "
        "are read"
    )


def test_a_zipped_frame_of_another_format_is_refused_by_name():
    tiff = io.BytesIO()
    Image.new("L", (16, 16)).save(tiff, format="TIFF")
    message, _ = refused(zip_of({"a.png": tiff.getvalue()}), "x.zip")
    assert message == (
        "'x.zip': a.png is not a PNG, JPEG, BMP, GIF image (or is cut short before its size)"
    )


# ---------------------------------------------------------------------------------------- .npy
def npy_header_only(shape, descr="|u1") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return out.getvalue()


def test_an_npy_declaring_a_huge_shape_is_refused_before_loading():
    data = npy_header_only((10**6, 10**6))
    message, peak = refused(data, "huge.npy", decode=read_npy)
    assert message == (
        "huge.npy declares shape (1000000, 1000000) of uint8, 1,000,000,000,000 bytes, but holds "
        "0 bytes after its header (a truncated file, or a false header)"
    )
    assert peak < SMALL_MB
    # As a clip upload, the shape itself is refused first: no clip has two axes.
    message, _ = refused(data, "huge.npy")
    assert message.startswith("'huge.npy' has shape (1000000, 1000000); one clip is (T, H, W)")


def test_an_npy_clip_over_budget_is_refused_from_its_header():
    message, peak = refused(npy_header_only((10**6, 64, 64)), "long.npy")
    assert message == "'long.npy' has 1000000 frames; at most 300 are accepted"
    assert peak < SMALL_MB
    message, _ = refused(npy_header_only((300, 3, 1024, 1024), "<f4"), "wide.npy")
    assert message.startswith("'wide.npy' has 300 frames of 1024x1024, 315 M pixels")


def test_an_npy_header_declaring_objects_is_refused_before_loading():
    message, _ = refused(npy_header_only((10**9,), descr="|O"), "evil.npy", decode=read_npy)
    assert message == (
        "evil.npy holds Python objects, which would have to be unpickled (that could run code); "
        "save plain numeric arrays"
    )


def test_an_npy_that_holds_its_shape_still_loads():
    frames = np.arange(10 * 16 * 16, dtype=np.uint8).reshape(10, 16, 16)
    out = io.BytesIO()
    np.save(out, frames)
    np.testing.assert_array_equal(read_npy(out.getvalue()), frames)
    message, _ = refused(out.getvalue()[:-1], "cut.npy", decode=read_npy)
    assert message.startswith(
        "cut.npy declares shape (10, 16, 16) of uint8, 2,560 bytes, but holds 2,559"
    )


# --------------------------------------------------------------------------------------- video
@pytest.fixture(scope="module")
def mp4() -> bytes:
    iio = pytest.importorskip("imageio.v3")
    frames = np.zeros((12, 64, 64, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(12)[:, None, None] * 20
    return iio.imwrite("<bytes>", frames, extension=".mp4", fps=10)


@pytest.mark.parametrize(
    "limit, value, message",
    [
        ("frames", 5, "'c.mp4' has 12 frames; at most 5 are accepted"),
        ("side", 32, "'c.mp4' has frames of 64x64; each side may be at most 32"),
    ],
)
def test_a_video_is_checked_from_its_container_before_a_frame_is_read(
    mp4, monkeypatch, limit, value, message
):
    import imageio.v3 as iio

    def no_frames(*args, **kwargs):
        raise AssertionError("a frame was read before the budget check")

    monkeypatch.setattr(iio, "imiter", no_frames)
    with pytest.raises(InputError) as info:
        decode_upload(mp4, "c.mp4", 1, uploads.UploadLimits(**{limit: value}))
    assert str(info.value) == message


# --------------------------------------------------------------- issue 27: what got through
def gif_with_comment(sub_blocks: int, size: int) -> bytes:
    """A one-frame 8x8 GIF whose comment extension holds `sub_blocks` sub-blocks of `size` bytes."""
    out = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(out, format="GIF")
    data = out.getvalue()
    image = data.index(b",")  # the image descriptor, after the screen and its colour table
    comment = b"!\xfe" + (bytes([size]) + b"a" * size) * sub_blocks + b"\x00"
    return data[:image] + comment + data[image:]


def test_a_gif_of_one_byte_comment_sub_blocks_is_refused_within_a_short_walk():
    # 4 MB of one-byte sub-blocks (the file was 62 MB: 20 s and 2.9 GB before). Not under
    # tracemalloc, which slows the walk tenfold; the walk holds nothing but counters.
    with pytest.raises(InputError) as info:
        decode_upload(gif_with_comment(2_000_000, 1), "c.gif", 1)
    assert str(info.value) == (
        "'c.gif' has more than 262,144 data sub-blocks; the limit is 262,144 (a GIF of tiny "
        "sub-blocks?)"
    )


def test_a_gif_with_megabytes_of_comment_is_refused_and_a_small_comment_decodes():
    message, _ = refused(gif_with_comment(5_000, 255), "c.gif")  # 1.3 MB of comment
    assert message == (
        "'c.gif' holds more than 1,048,576 bytes of extension data (comments, application "
        "data); the limit is 1,048,576"
    )
    assert decode_upload(gif_with_comment(10, 255), "c.gif", 1).shape == (1, 1, 8, 8)


def test_a_float_npy_with_an_empty_dimension_is_an_input_error():
    for shape in [(0, 16, 16), (10, 0, 16), (10, 1, 16, 0)]:
        out = io.BytesIO()
        np.save(out, np.zeros(shape, np.float32))
        message, _ = refused(out.getvalue(), "e.npy")
        assert message.endswith("a clip needs frames, each of at least 1x1 pixels"), message


def test_a_zip_member_with_an_empty_name_is_skipped_not_an_index_error():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        with archive.open(zipfile.ZipInfo(""), "w") as member:  # writestr refuses an empty name
            member.write(b"x")
        for t in range(3):
            frame = io.BytesIO()
            Image.fromarray(np.full((8, 8), 40 * t, np.uint8)).save(frame, format="PNG")
            archive.writestr(f"frame_{t}.png", frame.getvalue())
    frames = decode_upload(out.getvalue(), "e.zip", 1)
    np.testing.assert_allclose(frames[:, 0, 0, 0], [0, 40 / 255, 80 / 255], rtol=1e-6)
