"""What an upload declares about itself, read from its header before anything is decoded.

A small file can declare a huge clip: a GIF or PNG header of 65535x65535, a ZIP whose members
unpack to gigabytes, an `.npy` of shape (10**6, 10**6). `lmc.analysis.inputs` compares these
declarations with its frame and pixel budgets first, so that nothing big is allocated for a file
it will refuse. Only the fixed-layout parts of each format are read here (a GIF's block
structure, the `.npy` header, ffmpeg's description of a video); a PNG, JPEG or BMP is opened by
Pillow, which reads its header and decodes no pixel until asked. Decoding the pixels is left to
Pillow, numpy and ffmpeg.

Every reader raises InputError, naming the file, for a header it cannot read.
"""

from __future__ import annotations

import io
import math
import struct
import tokenize
import warnings
from dataclasses import dataclass

import numpy as np

from lmc.errors import InputError

GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
LAZY_FORMATS = ("PNG", "JPEG", "BMP")  # Pillow reads their size without decoding a pixel


@dataclass(frozen=True)
class Layout:
    """What a file declares: `frames` images of `height` x `width` pixels."""

    frames: int
    height: int
    width: int

    @property
    def pixels(self) -> int:
        return self.frames * self.height * self.width


# ---------------------------------------------------------------------------------------- GIF
def _color_table_bytes(flags: int) -> int:
    """Bytes of the colour table that a GIF screen or image descriptor with `flags` announces."""
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


# The walk's budget: the largest clip an upload may be (2**24 pixels, whose LZW data at 12 bits a
# pixel at worst fills about 100,000 sub-blocks of 255 bytes) with room to spare, and far more
# comment and application data than any encoder writes. A file of one-byte sub-blocks or of
# megabytes of comments is refused after a short walk, before Pillow (which gathers a comment
# sub-block by sub-block) reads it.
MAX_GIF_SUB_BLOCKS = 2**18
MAX_GIF_EXTENSION_BYTES = 2**20


class _SubBlocks:
    """Counts the sub-blocks and extension bytes of one GIF walk against its budget."""

    def __init__(self, name: str, max_sub_blocks: int, max_extension_bytes: int) -> None:
        self.name = name
        self.max_sub_blocks = max_sub_blocks
        self.max_extension_bytes = max_extension_bytes
        self.count = self.extension_bytes = 0

    def skip(self, data: bytes, pos: int, extension: bool) -> int:
        """The position after the chain of data sub-blocks (a length byte, then that many
        bytes, ended by a zero length) that starts at `pos`."""
        while pos < len(data):
            size = data[pos]
            pos += 1 + size
            self.count += 1
            if self.count > self.max_sub_blocks:
                raise InputError(
                    f"{self.name} has more than {self.max_sub_blocks:,} data sub-blocks; the "
                    f"limit is {self.max_sub_blocks:,} (a GIF of tiny sub-blocks?)"
                )
            if extension:
                self.extension_bytes += size
                if self.extension_bytes > self.max_extension_bytes:
                    raise InputError(
                        f"{self.name} holds more than {self.max_extension_bytes:,} bytes of "
                        "extension data (comments, application data); the limit is "
                        f"{self.max_extension_bytes:,}"
                    )
            if size == 0:
                break
        return pos


def gif_layout(
    data: bytes,
    max_frames: int,
    name: str = "the GIF",
    *,
    max_sub_blocks: int = MAX_GIF_SUB_BLOCKS,
    max_extension_bytes: int = MAX_GIF_EXTENSION_BYTES,
) -> Layout:
    """The frames of a GIF and the canvas Pillow decodes them onto, from its block structure.

    The canvas is the logical screen, grown to every frame's extent as Pillow grows it (a frame
    may reach past the screen). Counting stops after `max_frames` + 1 frames, so a file of a
    million frames is walked no further than needed to refuse it. Bytes that are no block are
    skipped, as Pillow skips them; a file cut short ends the walk. InputError beyond
    `max_sub_blocks` data sub-blocks or `max_extension_bytes` bytes of extension data.
    """
    if len(data) < 13 or data[:6] not in GIF_SIGNATURES:
        raise InputError(f"{name} cannot be read as a GIF: it has no GIF87a or GIF89a header")
    width, height = struct.unpack_from("<HH", data, 6)
    pos = 13 + _color_table_bytes(data[10])
    frames = 0
    blocks = _SubBlocks(name, max_sub_blocks, max_extension_bytes)
    while pos < len(data) and frames <= max_frames:
        tag = data[pos]
        pos += 1
        if tag == 0x3B:  # trailer
            break
        if tag == 0x21:  # extension: a label byte, then sub-blocks
            pos = blocks.skip(data, pos + 1, extension=True)
        elif tag == 0x2C:  # image descriptor: left, top, width, height, flags
            if pos + 9 > len(data):
                break
            left, top, w, h, flags = struct.unpack_from("<HHHHB", data, pos)
            width, height = max(width, left + w), max(height, top + h)
            frames += 1
            # the local colour table, the LZW code size byte, then the image's sub-blocks
            pos = blocks.skip(data, pos + 9 + _color_table_bytes(flags) + 1, extension=False)
    return Layout(frames, height, width)


# ------------------------------------------------------------------------------ one image file
def image_size(data: bytes, name: str = "the image") -> tuple[str, int, int] | None:
    """(format, height, width) that a PNG, JPEG, BMP or GIF file declares (for a GIF, its first
    frame's canvas); None for any other file, or one cut short before its size.

    A GIF's size comes from its block walk (`gif_layout`, which bounds what a GIF may make
    Pillow read); the others from Pillow's lazy open, which reads the header and stops. Pillow's
    pixel limit refuses an image above twice Image.MAX_IMAGE_PIXELS at open (InputError naming
    `name`); below it, the caller's budgets decide, so Pillow's warning is not raised."""
    if data[:6] in GIF_SIGNATURES and len(data) >= 13:
        layout = gif_layout(data, max_frames=0)  # the first frame: the one Pillow opens
        return "GIF", layout.height, layout.width
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=LAZY_FORMATS) as image:
                return image.format, image.height, image.width
    except Image.DecompressionBombError:
        limit = 2 * Image.MAX_IMAGE_PIXELS
        raise InputError(f"{name} declares more than {limit:,} pixels, Pillow's limit") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        return None  # not one of the formats, or cut short before its size


# ---------------------------------------------------------------------------------------- .npy
@dataclass(frozen=True)
class NpyHeader:
    """An `.npy` file's header: the array's shape and dtype, and where its data begins."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npy_header(data: bytes, name: str = "the .npy file") -> NpyHeader:
    """The header of `.npy` bytes: InputError for one numpy cannot parse, an array of Python
    objects (reading it would mean unpickling) or a negative dimension. Whether the file holds
    the bytes its shape needs is for the reader to check (`NpyHeader.nbytes`, `offset`)."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(buffer)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(buffer)
        else:
            raise InputError(
                f"{name} is .npy version {version[0]}.{version[1]}; versions 1.0 and 2.0 are read"
            )
    # numpy tokenizes and parses the header's Python literal and dtype description; a bad one
    # raises one of these.
    except (ValueError, TypeError, SyntaxError, EOFError, tokenize.TokenError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{name} is not a readable .npy file: {err}") from None
    header = NpyHeader(tuple(shape), dtype, fortran_order, buffer.tell())
    if dtype.hasobject:
        raise InputError(
            f"{name} holds Python objects, which would have to be unpickled (that could run "
            "code); save plain numeric arrays"
        )
    if any(size < 0 for size in header.shape):
        raise InputError(f"{name} declares shape {header.shape}; a dimension cannot be negative")
    # numpy multiplies the dimensions in 64 bits, empty ones included: (0, 2**64) overflows it.
    extent = math.prod(max(size, 1) for size in header.shape) * max(dtype.itemsize, 1)
    if extent >= 2**63:
        raise InputError(
            f"{name} declares shape {header.shape} of {dtype}; no array spans 2**63 bytes or more"
        )
    return header


# --------------------------------------------------------------------------------------- video
def video_layout(data: bytes, extension: str = ".mp4") -> Layout | None:
    """Frames and size of a video from ffmpeg's description of its stream, no frame decoded:
    the frame count when the container records it, else duration x frame rate; None when the
    description lacks them (the decoder then counts frame by frame). Raises what imageio's
    backend raises for a file it cannot open."""
    import imageio.v3 as iio

    meta = iio.immeta(data, extension=extension)
    size, fps, duration = meta.get("size"), meta.get("fps"), meta.get("duration")
    frames = meta.get("nframes")
    if not isinstance(frames, int) or isinstance(frames, bool):
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (fps, duration)):
            return None
        frames = int(fps * duration)
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        return None
    width, height = size
    if not all(isinstance(v, int) for v in (width, height)):
        return None
    return Layout(frames, height, width)
