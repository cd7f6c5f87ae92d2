"""Uploaded clips decoded into frames, within frame and pixel budgets: `decode_upload`.

Uploads are GIF, MP4, a ZIP of frame images or a `.npy` array, and each ends as float32 frames
(T, C, H, W) in [0, 1] (`lmc.analysis.inputs.Clip` then holds them). A small file can declare a
huge clip, so every upload is held to MAX_FRAMES, MAX_SIDE and MAX_PIXELS by what its header
declares (`lmc.analysis.headers`: a GIF's blocks, each zipped frame's header and the ZIP's
directory, an MP4's container, an `.npy`'s shape and dtype) before any frame is decoded or any
array allocated; the decoded frames are checked again. Every refusal is an InputError that names
the file, the value and the limit. The limits travel as an `UploadLimits` (default: the constants
below), so a test can lower each one and reach it with a file of a few bytes.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from lmc.analysis.headers import (
    MAX_GIF_EXTENSION_BYTES,
    MAX_GIF_SUB_BLOCKS,
    Layout,
    gif_layout,
    image_size,
    npy_header,
    video_layout,
)
from lmc.errors import InputError

UPLOAD_TYPES = ("gif", "mp4", "zip", "npy")
ZIP_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Bounds on what one upload may decode to, so a small file (a ZIP bomb, a long video) cannot
# exhaust memory: 300 frames is 30 s at 10 fps; 1024 px is eight times the largest preset.
MAX_FRAMES = 300
MAX_SIDE = 1024
MAX_PIXELS = 2**24  # frames x height x width: 256 frames of 256x256, 0.2 GB as float RGB
MAX_ZIP_BYTES = 512 * 2**20  # total uncompressed size of the frame files in a ZIP
# One frame file in a ZIP: a 1024x1024 frame is at most 8 MB even as 16-bit RGBA without
# compression, so anything larger is padding or a bomb.
MAX_FRAME_FILE_BYTES = 16 * 2**20
# What Pillow may open inside a ZIP: the formats whose sizes `lmc.analysis.headers` reads.
ZIP_IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what every ZIP tool writes by default


@dataclass(frozen=True)
class UploadLimits:
    """Every bound an upload is held to; the defaults are the constants above (and the GIF
    walk's in `lmc.analysis.headers`)."""

    frames: int = MAX_FRAMES
    side: int = MAX_SIDE
    pixels: int = MAX_PIXELS
    zip_bytes: int = MAX_ZIP_BYTES
    frame_file_bytes: int = MAX_FRAME_FILE_BYTES
    gif_sub_blocks: int = MAX_GIF_SUB_BLOCKS
    gif_extension_bytes: int = MAX_GIF_EXTENSION_BYTES


LIMITS = UploadLimits()


def _count(n: int) -> str:
    return f"{n / 1e6:.0f} M" if n >= 10**6 else f"{n:,}"


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def _check_decoded_size(t: int, h: int, w: int, name: str, limits: UploadLimits = LIMITS) -> None:
    if t > limits.frames:
        raise InputError(f"{name} has {t} frames; at most {limits.frames} are accepted")
    if max(h, w) > limits.side:
        raise InputError(f"{name} has frames of {h}x{w}; each side may be at most {limits.side}")
    if t * h * w > limits.pixels:
        raise InputError(
            f"{name} has {t} frames of {h}x{w}, {_count(t * h * w)} pixels; at most "
            f"{_count(limits.pixels)} are accepted (use fewer or smaller frames)"
        )


def _check_layout(layout: Layout, name: str, limits: UploadLimits = LIMITS) -> None:
    """The budgets, for what a header declares."""
    _check_decoded_size(layout.frames, layout.height, layout.width, name, limits)


# ------------------------------------------------------------------------------------ decoding
def _mode(channels: int) -> str:
    if channels not in (1, 3):
        raise InputError(f"channels={channels}: must be 1 (grayscale) or 3 (RGB)")
    return "L" if channels == 1 else "RGB"


def _stack_images(
    images: list[np.ndarray], names: list[str], what: str, limits: UploadLimits = LIMITS
) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) images -> float32 (T, C, H, W), all of one size."""
    first = images[0].shape
    for image, name in zip(images, names, strict=True):
        if image.shape != first:
            raise InputError(
                f"{what}: {name} is {image.shape[1]}x{image.shape[0]} but the first frame is "
                f"{first[1]}x{first[0]}; all frames must have one size"
            )
    _check_decoded_size(len(images), first[0], first[1], what, limits)
    stack = np.stack(images)
    if stack.ndim == 3:
        stack = stack[:, None]
    else:
        stack = stack.transpose(0, 3, 1, 2)
    return np.divide(stack, 255.0, dtype=np.float32)


def _pil_errors() -> tuple[type[BaseException], ...]:
    """What Pillow raises for damaged image bytes: OSError (UnidentifiedImageError among them)
    and SyntaxError by design, the rest from its parsers running off the end of a cut file.
    DecompressionBombError is Pillow's own size bound, which ours keep it from reaching."""
    from PIL import Image

    return (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        Image.DecompressionBombError,
    )


def decode_gif(
    data: bytes, channels: int = 1, name: str = "the GIF", limits: UploadLimits = LIMITS
) -> np.ndarray:
    """An animated GIF -> (T, C, H, W) float32, every frame composited as a viewer shows it.

    Its frame count and canvas are read from its blocks and checked before Pillow decodes it.
    """
    from PIL import Image, ImageSequence

    mode = _mode(channels)
    layout = gif_layout(
        data,
        limits.frames,
        name,
        max_sub_blocks=limits.gif_sub_blocks,
        max_extension_bytes=limits.gif_extension_bytes,
    )
    if layout.frames > limits.frames:
        raise InputError(
            f"{name} has more than {limits.frames} frames; at most {limits.frames} are accepted"
        )
    _check_layout(layout, name, limits)
    images = []
    try:
        with Image.open(io.BytesIO(data), formats=["GIF"]) as gif:
            for frame in ImageSequence.Iterator(gif):
                # The canvas as the next decode will allocate it: the header walk bounds it.
                _check_decoded_size(len(images) + 1, frame.height, frame.width, name, limits)
                images.append(np.asarray(frame.convert(mode)))
    except _pil_errors() as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{name} cannot be read as a GIF: {_reason(err)}") from None
    return _stack_images(images, [f"frame {i}" for i in range(len(images))], name, limits)


def _reason(err: Exception) -> str:
    """Pillow's reason for refusing an image, without the in-memory buffer it names."""
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "its data is not an image Pillow can identify"
    return str(err)


def decode_video(
    data: bytes, channels: int = 1, name: str = "the video", limits: UploadLimits = LIMITS
) -> np.ndarray:
    """An MP4 (any format ffmpeg reads) -> (T, C, H, W) float32. The codec is lossy, so the
    values are close to, not equal to, the frames that were encoded.

    The frame count and size that ffmpeg reads from the container are checked first; frames are
    then read one by one and counted again, since a container's count may be wrong.
    """
    import imageio.v3 as iio

    images = []
    try:
        layout = video_layout(data, ".mp4")
        if layout is not None:
            _check_layout(layout, name, limits)
        for image in iio.imiter(data, extension=".mp4"):
            _check_decoded_size(len(images) + 1, image.shape[0], image.shape[1], name, limits)
            images.append(image)
    except InputError:
        raise
    # imageio's backends (ffmpeg, PyAV) raise assorted exception types for a file they cannot
    # parse; every one of them means the same thing here.
    except Exception as err:  # noqa: BLE001
        message = str(err).split("=== stderr ===")[0].strip()  # not ffmpeg's whole banner
        raise InputError(f"{name} cannot be read as a video: {message}") from None
    if not images:
        raise InputError(f"{name} holds no video frames")
    frames = np.stack(images)
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.shape[-1] >= 3 and channels == 1:
        # ITU-R 601 luma, the weights PIL's convert("L") uses for the other formats.
        rgb = frames[..., :3].astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return (gray / 255.0)[:, None].astype(np.float32)
    if frames.shape[-1] == 1 and channels == 3:
        frames = np.repeat(frames, 3, axis=-1)
    return np.divide(frames[..., :channels].transpose(0, 3, 1, 2), 255.0, dtype=np.float32)


def _natural_key(name: str) -> list[str | int]:
    # frame_2 before frame_10 when names are not zero-padded.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


# What zipfile raises for a damaged archive or member (a bad CRC or header, a corrupt deflate
# stream, an encrypted member, a method it does not know).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
)


def _frame_members(
    archive: zipfile.ZipFile, name: str, limits: UploadLimits = LIMITS
) -> list[zipfile.ZipInfo]:
    """The frame images of a ZIP in natural name order, checked by its directory alone: how
    many there are and how many bytes each unpacks to (zipfile never unpacks more than that)."""
    members = [
        info
        for info in archive.infolist()
        # not info.is_dir(): it indexes the name's last character, and a name may be empty
        if not info.filename.endswith("/")
        and not info.filename.startswith("__MACOSX/")
        and not PurePosixPath(info.filename).name.startswith(".")
        and PurePosixPath(info.filename).suffix.lower() in ZIP_IMAGE_SUFFIXES
    ]
    if not members:
        raise InputError(
            f"{name} holds no frame images; expected files ending in {', '.join(ZIP_IMAGE_SUFFIXES)}"
        )
    if len(members) > limits.frames:
        raise InputError(f"{name} has {len(members)} frames; at most {limits.frames} are accepted")
    for info in members:
        if info.file_size > limits.frame_file_bytes:
            raise InputError(
                f"{name}: {info.filename} unpacks to {_size(info.file_size)}; a frame "
                f"file may be at most {_size(limits.frame_file_bytes)}"
            )
    total = sum(info.file_size for info in members)
    if total > limits.zip_bytes:
        raise InputError(
            f"{name} unpacks to {_size(total)} of frames; at most "
            f"{_size(limits.zip_bytes)} are accepted"
        )
    return sorted(members, key=lambda info: _natural_key(info.filename))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """A member's bytes, at most the size its directory entry declares (which `_frame_members`
    checked). Read with that bound, zipfile inflates no more than it at a time, stops there and
    checks the CRC; unbounded (`archive.read`), it inflates a member whose entry understates its
    size whole before cutting it. bzip2 and LZMA inflate each chunk whole, so they are refused."""
    if info.compress_type not in ZIP_METHODS:
        raise InputError(
            f"{name}: {info.filename} is compressed with method {info.compress_type}; "
            f"only stored (0) and deflated (8) members are read"
        )
    try:
        with archive.open(info) as member:
            return member.read(info.file_size)
    except _ZIP_ERRORS as err:
        raise InputError(f"{name}: {info.filename} cannot be unpacked: {err}") from None


def _member_size(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: UploadLimits = LIMITS
) -> tuple[int, int]:
    """(height, width) that one frame file declares, checked against MAX_SIDE."""
    declared = image_size(_read_member(archive, info, name), f"{name}: {info.filename}")
    if declared is None:
        raise InputError(
            f"{name}: {info.filename} is not a {', '.join(ZIP_IMAGE_FORMATS)} image (or is cut "
            "short before its size)"
        )
    _, height, width = declared
    _check_decoded_size(1, height, width, f"{name}: {info.filename}", limits)
    return height, width


def _decode_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: tuple[int, int], mode: str, name: str
) -> np.ndarray:
    """One frame file decoded to uint8 in `mode`; refused unless Pillow opens it at the size
    its header declared (the size the budgets were checked for)."""
    from PIL import Image

    data = _read_member(archive, info, name)
    try:
        with Image.open(io.BytesIO(data), formats=ZIP_IMAGE_FORMATS) as image:
            if (image.height, image.width) != size:
                raise InputError(
                    f"{name}: {info.filename} declares {size[1]}x{size[0]} pixels but opens as "
                    f"{image.width}x{image.height}"
                )
            return np.asarray(image.convert(mode))
    except _pil_errors() as err:
        if isinstance(err, InputError):
            raise
        raise InputError(
            f"{name}: {info.filename} cannot be read as an image: {_reason(err)}"
        ) from None


def decode_zip(
    data: bytes, channels: int = 1, name: str = "the ZIP", limits: UploadLimits = LIMITS
) -> np.ndarray:
    """A ZIP of frame images (png, jpg, bmp, gif) -> (T, C, H, W) float32, in natural name order.

    Folders inside the archive, hidden files and macOS `__MACOSX/` entries are skipped. The
    archive's directory (frames, bytes) and every frame's header (its size) are checked against
    the budgets before any frame is decoded; one member is unpacked at a time.
    """
    mode = _mode(channels)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as err:
        raise InputError(f"{name} is not a readable ZIP archive: {err}") from None
    with archive:
        members = _frame_members(archive, name, limits)
        sizes = [_member_size(archive, info, name, limits) for info in members]
        for info, size in zip(members, sizes, strict=True):
            if size != sizes[0]:
                raise InputError(
                    f"{name}: {info.filename} is {size[1]}x{size[0]} but the first frame is "
                    f"{sizes[0][1]}x{sizes[0][0]}; all frames must have one size"
                )
        _check_decoded_size(len(members), *sizes[0], name, limits)
        images = [_decode_member(archive, info, sizes[0], mode, name) for info in members]
    return _stack_images(images, [info.filename for info in members], name, limits)


def _clip_axes(shape: tuple[int, ...], name: str) -> tuple[int, int, int]:
    """(T, H, W) of one clip stored as an array of `shape`: (T, H, W), (T, C, H, W) or
    (T, H, W, C) with C 1 or 3."""
    if len(shape) == 3:
        return shape
    if len(shape) == 4 and shape[1] in (1, 3):
        return shape[0], shape[2], shape[3]
    if len(shape) == 4 and shape[-1] in (1, 3):
        return shape[:3]
    raise InputError(
        f"{name} has shape {shape}; one clip is (T, H, W), (T, C, H, W) or (T, H, W, C) "
        "with C 1 or 3 (a file of many clips, such as mnist_test_seq.npy, is a dataset file)"
    )


def array_to_clip_frames(
    array: np.ndarray, name: str = "the array", limits: UploadLimits = LIMITS
) -> np.ndarray:
    """One clip as an array -> (T, C, H, W) float32 in [0, 1].

    Layouts: (T, H, W), (T, C, H, W) or (T, H, W, C) with C 1 or 3. Values: uint8 0..255, bool, or
    floats in [0, 1].
    """
    t, h, w = _clip_axes(tuple(array.shape), name)
    if array.ndim == 3:
        array = array[:, None]
    elif array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    _check_decoded_size(t, h, w, name, limits)
    if min(t, h, w) < 1:  # numpy allows empty dimensions; an empty clip has no frame to show
        raise InputError(
            f"{name} has {t} frames of {h}x{w}; a clip needs frames, each of at least 1x1 pixels"
        )
    if array.dtype == np.uint8:
        return np.divide(array, 255.0, dtype=np.float32)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(
            f"{name} has dtype {array.dtype}; expected uint8 (0..255) or floats in [0, 1]"
        )
    frames = array.astype(np.float32)
    if not np.isfinite(frames).all():
        raise InputError(f"{name} holds NaN or infinite values; expected floats in [0, 1]")
    low, high = float(frames.min()), float(frames.max())
    if low < -1e-6 or high > 1 + 1e-6:
        hint = " (0..255 values: save as uint8, or divide by 255)" if high > 1.5 else ""
        raise InputError(
            f"{name} has values in [{low:.3g}, {high:.3g}]; expected floats in [0, 1]{hint}"
        )
    return np.clip(frames, 0.0, 1.0)


def read_npy(data: bytes, name: str = "the .npy file") -> np.ndarray:
    """The array in .npy bytes. Its header is read first (`lmc.analysis.headers.npy_header`):
    object arrays (reading them means unpickling) and shapes that need more bytes than the file
    holds are refused before anything is allocated."""
    header = npy_header(data, name)
    held = len(data) - header.offset
    if header.nbytes > held:
        raise InputError(
            f"{name} declares shape {header.shape} of {header.dtype}, {header.nbytes:,} bytes, "
            f"but holds {held:,} bytes after its header (a truncated file, or a false header)"
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{name} is not a readable .npy file: {err}") from None


def decode_upload(
    data: bytes, filename: str, channels: int, limits: UploadLimits = LIMITS
) -> np.ndarray:
    """Uploaded bytes -> (T, C, H, W) float32 in [0, 1], by the file's extension.

    Images are converted to `channels` (gray or RGB); a .npy keeps its own channel count, which
    `check_clip` then compares with the model's. What the header declares is held to the frame
    and pixel budgets before anything is decoded.
    """
    suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
    name = repr(filename)
    if not data:
        raise InputError(f"{name} is empty")
    if suffix == "gif":
        return decode_gif(data, channels, name, limits)
    if suffix == "mp4":
        return decode_video(data, channels, name, limits)
    if suffix == "zip":
        return decode_zip(data, channels, name, limits)
    if suffix == "npy":
        _check_decoded_size(*_clip_axes(npy_header(data, name).shape, name), name, limits)
        return array_to_clip_frames(read_npy(data, name), name, limits)
    raise InputError(
        f"{name}: unknown clip format {suffix!r}; valid formats: {', '.join(UPLOAD_TYPES)}"
    )
