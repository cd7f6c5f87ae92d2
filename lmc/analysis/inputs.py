"""Input clips for the dashboard and notebooks: decode uploads and check them.

Every source ends as a `Clip`: float32 frames (T, C, H, W) in [0, 1], the number of frames the
model sees (`short_len`; the rest is ground truth) and, when it is known, the true motion of its
digits. Uploads are GIF, MP4, a ZIP of frame images or a .npy array; a clip must have at least
MIN_MOTION_FRAMES input frames (the 3D motion encoder of LMC-Memory halves time three times,
Lee et al., CVPR 2021, sec. 3.2) and sides that are multiples of SIDE_MULTIPLE. Clips of known
motion are composed in `lmc.analysis.probe`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from lmc.clips import check_frames
from lmc.config import MIN_MOTION_FRAMES
from lmc.errors import InputError

UPLOAD_TYPES = ("gif", "mp4", "zip", "npy")
ZIP_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Bounds on what one upload may decode to, so a small file (a ZIP bomb, a long video) cannot
# exhaust memory: 300 frames is 30 s at 10 fps; 1024 px is eight times the largest preset.
MAX_FRAMES = 300
MAX_SIDE = 1024
MAX_PIXELS = 2**24  # frames x height x width: 256 frames of 256x256, 0.2 GB as float RGB
MAX_ZIP_BYTES = 512 * 2**20  # total uncompressed size of the frame files in a ZIP


@dataclass(frozen=True)
class TrueMotion:
    """The known motion of a clip's digits: positions and velocities (T, D, 2) as (y, x) and
    (dy, dx) in pixels, as in `lmc.data.MovingMNISTClips`, and labels (D,) the digit classes."""

    positions: np.ndarray
    velocities: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True, eq=False)
class Clip:
    """One clip: frames (T, C, H, W) float32 in [0, 1]; the model sees frames[:short_len].

    `key` is a content hash of frames and split, for caches; `source` says where the clip came
    from, for captions and plots.
    """

    frames: np.ndarray
    short_len: int
    source: str
    motion: TrueMotion | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        # A private copy: the clip is shared by caches, so it is made read-only below, and the
        # caller's array must stay as it was.
        frames = np.array(self.frames, dtype=np.float32, order="C", copy=True)
        if frames.ndim != 4:
            raise InputError(f"a clip has shape (T, C, H, W); got {frames.shape}")
        if not 1 <= self.short_len <= frames.shape[0]:
            raise InputError(
                f"short_len={self.short_len}: must be between 1 and the clip's {frames.shape[0]} frames"
            )
        frames.flags.writeable = False
        digest = hashlib.sha1(frames.tobytes(), usedforsecurity=False)
        digest.update(f"{frames.shape}:{self.short_len}".encode())
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "key", digest.hexdigest()[:16])

    @property
    def short(self) -> np.ndarray:
        """(short_len, C, H, W): what the model sees."""
        return self.frames[: self.short_len]

    @property
    def future(self) -> np.ndarray:
        """(T - short_len, C, H, W): the ground truth; empty when the clip has no future."""
        return self.frames[self.short_len :]

    def with_short_len(self, short_len: int) -> Clip:
        return Clip(self.frames, short_len, self.source, self.motion)


DEFAULT_OUT_LEN = 10  # the field's 10 -> 10 protocol


def default_out_len(clip: Clip) -> int:
    """As many frames as the clip's ground truth, or the field's 10 when it has none."""
    return clip.future.shape[0] or DEFAULT_OUT_LEN


def default_short_len(num_frames: int, preferred: int = 10) -> int:
    """The 10 -> rest split of the field when the clip is long enough, else every frame as input."""
    return preferred if num_frames > preferred else num_frames


# ------------------------------------------------------------------------------------ checks
def check_clip(
    frames: np.ndarray, *, channels: int, short_len: int | None = None, what: str = "the clip"
) -> None:
    """Raise InputError naming the value and the limit if `frames` (T, C, H, W) cannot be fed to
    a model with `channels` channels (`lmc.clips.check_frames`); the model sees `short_len` of
    them (all if None)."""
    frames = np.asarray(frames)
    seen = frames if short_len is None or frames.ndim != 4 else frames[:short_len]
    check_frames(seen, channels=channels, min_frames=MIN_MOTION_FRAMES, name=what, batched=False)


def _check_decoded_size(t: int, h: int, w: int, name: str) -> None:
    if t > MAX_FRAMES:
        raise InputError(f"{name} has {t} frames; at most {MAX_FRAMES} are accepted")
    if max(h, w) > MAX_SIDE:
        raise InputError(f"{name} has frames of {h}x{w}; each side may be at most {MAX_SIDE}")
    if t * h * w > MAX_PIXELS:
        raise InputError(
            f"{name} has {t} frames of {h}x{w}, {t * h * w / 1e6:.0f} M pixels; at most "
            f"{MAX_PIXELS / 1e6:.0f} M are accepted (use fewer or smaller frames)"
        )


# ------------------------------------------------------------------------------------ decoding
def _mode(channels: int) -> str:
    if channels not in (1, 3):
        raise InputError(f"channels={channels}: must be 1 (grayscale) or 3 (RGB)")
    return "L" if channels == 1 else "RGB"


def _stack_images(images: list[np.ndarray], names: list[str], what: str) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) images -> float32 (T, C, H, W), all of one size."""
    first = images[0].shape
    for image, name in zip(images, names, strict=True):
        if image.shape != first:
            raise InputError(
                f"{what}: {name} is {image.shape[1]}x{image.shape[0]} but the first frame is "
                f"{first[1]}x{first[0]}; all frames must have one size"
            )
    _check_decoded_size(len(images), first[0], first[1], what)
    stack = np.stack(images)
    if stack.ndim == 3:
        stack = stack[:, None]
    else:
        stack = stack.transpose(0, 3, 1, 2)
    return np.divide(stack, 255.0, dtype=np.float32)


def decode_gif(data: bytes, channels: int = 1, name: str = "the GIF") -> np.ndarray:
    """An animated GIF -> (T, C, H, W) float32, every frame composited as a viewer shows it."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    mode = _mode(channels)
    try:
        with Image.open(io.BytesIO(data)) as gif:
            _check_decoded_size(getattr(gif, "n_frames", 1), gif.height, gif.width, name)
            images = [np.asarray(frame.convert(mode)) for frame in ImageSequence.Iterator(gif)]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InputError(f"{name} cannot be read as a GIF: {err}") from None
    return _stack_images(images, [f"frame {i}" for i in range(len(images))], name)


def decode_video(data: bytes, channels: int = 1, name: str = "the video") -> np.ndarray:
    """An MP4 (any format ffmpeg reads) -> (T, C, H, W) float32. The codec is lossy, so the
    values are close to, not equal to, the frames that were encoded."""
    import imageio.v3 as iio

    images = []
    try:
        # Frame by frame, so a long video is refused after MAX_FRAMES instead of decoded whole.
        for image in iio.imiter(data, extension=".mp4"):
            images.append(image)
            _check_decoded_size(len(images), image.shape[0], image.shape[1], name)
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


def decode_zip(data: bytes, channels: int = 1, name: str = "the ZIP") -> np.ndarray:
    """A ZIP of frame images (png, jpg, bmp, gif) -> (T, C, H, W) float32, in natural name order.

    Folders inside the archive, hidden files and macOS `__MACOSX/` entries are skipped.
    """
    from PIL import Image, UnidentifiedImageError

    mode = _mode(channels)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise InputError(f"{name} is not a readable ZIP archive: {err}") from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not PurePosixPath(info.filename).name.startswith(".")
            and PurePosixPath(info.filename).suffix.lower() in ZIP_IMAGE_SUFFIXES
        ]
        if not members:
            raise InputError(
                f"{name} holds no frame images; expected files ending in {', '.join(ZIP_IMAGE_SUFFIXES)}"
            )
        if len(members) > MAX_FRAMES:
            raise InputError(f"{name} has {len(members)} frames; at most {MAX_FRAMES} are accepted")
        total = sum(info.file_size for info in members)
        if total > MAX_ZIP_BYTES:
            raise InputError(
                f"{name} unpacks to {total / 2**20:.0f} MB of frames; at most "
                f"{MAX_ZIP_BYTES / 2**20:.0f} MB are accepted"
            )
        members.sort(key=lambda info: _natural_key(info.filename))
        images, names = [], []
        for info in members:
            try:
                with Image.open(io.BytesIO(archive.read(info))) as image:
                    _check_decoded_size(1, image.height, image.width, f"{name}: {info.filename}")
                    images.append(np.asarray(image.convert(mode)))
            except (UnidentifiedImageError, OSError, SyntaxError, zipfile.BadZipFile) as err:
                raise InputError(
                    f"{name}: {info.filename} cannot be read as an image: {err}"
                ) from None
            names.append(info.filename)
    return _stack_images(images, names, name)


def array_to_clip_frames(array: np.ndarray, name: str = "the array") -> np.ndarray:
    """One clip as an array -> (T, C, H, W) float32 in [0, 1].

    Layouts: (T, H, W), (T, C, H, W) or (T, H, W, C) with C 1 or 3. Values: uint8 0..255, bool, or
    floats in [0, 1].
    """
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] in (1, 3):
        pass
    elif array.ndim == 4 and array.shape[-1] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    else:
        raise InputError(
            f"{name} has shape {array.shape}; one clip is (T, H, W), (T, C, H, W) or (T, H, W, C) "
            "with C 1 or 3 (a file of many clips, such as mnist_test_seq.npy, is a dataset file)"
        )
    t, _, h, w = array.shape
    _check_decoded_size(t, h, w, name)
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
    """The array in .npy bytes; object arrays are refused (reading them means unpickling)."""
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise InputError(
                f"{name} holds Python objects, which would have to be unpickled (that could run "
                "code); save plain numeric arrays"
            ) from None
        raise InputError(f"{name} is not a readable .npy file: {err}") from None
    except (OSError, EOFError) as err:
        raise InputError(f"{name} is not a readable .npy file: {err}") from None


def decode_upload(data: bytes, filename: str, channels: int) -> np.ndarray:
    """Uploaded bytes -> (T, C, H, W) float32 in [0, 1], by the file's extension.

    Images are converted to `channels` (gray or RGB); a .npy keeps its own channel count, which
    `check_clip` then compares with the model's.
    """
    suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
    name = repr(filename)
    if not data:
        raise InputError(f"{name} is empty")
    if suffix == "gif":
        return decode_gif(data, channels, name)
    if suffix == "mp4":
        return decode_video(data, channels, name)
    if suffix == "zip":
        return decode_zip(data, channels, name)
    if suffix == "npy":
        return array_to_clip_frames(read_npy(data, name), name)
    raise InputError(
        f"{name}: unknown clip format {suffix!r}; valid formats: {', '.join(UPLOAD_TYPES)}"
    )


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, C, H, W) -> (T, C, *size) with antialiased bilinear resampling."""
    import torch
    import torch.nn.functional as F

    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    out = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)),
        size=tuple(size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return out.clamp_(0.0, 1.0).numpy()


def match_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    """(T, C, H, W) -> (T, channels, H, W): gray repeated to RGB, or RGB to ITU-R 601 luma."""
    c = frames.shape[1]
    if c == channels:
        return frames
    if c == 1 and channels == 3:
        return np.repeat(frames, 3, axis=1)
    if c == 3 and channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.einsum("tchw,c->thw", frames, weights)[:, None].astype(np.float32)
    raise InputError(f"cannot convert {c} channels to {channels}; expected 1 or 3")


# ------------------------------------------------------------------------------- dataset files
def clip_collection(array: np.ndarray, layout: str, name: str = "the file") -> np.ndarray:
    """A file of many clips -> a (N, T, H, W) or (N, T, C, H, W) view, nothing copied.

    layout: "TN" for the standard mnist_test_seq.npy order (T, N, H, W), "NT" for (N, T, ...).
    """
    if layout not in ("TN", "NT"):
        raise InputError(f"layout={layout!r}: must be 'TN' (T, N, H, W) or 'NT' (N, T, H, W)")
    if array.ndim not in (4, 5):
        raise InputError(
            f"{name} has shape {array.shape}; a set of clips is (T, N, H, W) like "
            "mnist_test_seq.npy, or (N, T, H, W) / (N, T, C, H, W)"
        )
    return array.swapaxes(0, 1) if layout == "TN" else array


def guess_layout(shape: tuple[int, ...]) -> str:
    """'TN' when the first axis is the shorter of the two leading ones (the standard file is
    (20, 10000, 64, 64)), else 'NT'. Only a default: the page lets the user change it."""
    return "TN" if len(shape) == 4 and shape[0] < shape[1] else "NT"
