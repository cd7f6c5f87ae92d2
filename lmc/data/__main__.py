"""`python -m lmc.data`: write datasets in the authors' frame-folder layout.

    python -m lmc.data export OUT_DIR --num-clips 100 --seq-len 20 --seed 0 --split test
        [--motion standard|contexts] [--format folders|standard]
    python -m lmc.data kth RAW_DIR OUT_DIR [--sequences sequences.txt] [--size 128]

`export` writes generated Moving-MNIST clips as `OUT_DIR/video_00000/frame_00000.png` ... so the
original LMC-Memory code (and `FrameFolderDataset`) can read them, with the true motion beside
them in `OUT_DIR/meta.npz`, one row per folder in `OUT_DIR/manifest.csv` (folder, clip, frames,
labels, seed, split) and the generator arguments in `OUT_DIR/export.json`. `--motion contexts`
gives each digit one of six motion families (`lmc.data.motion_contexts`); its family and
parameters join meta.npz (`families`, `family_params`, `family_names`, `param_names`) and the
manifest (`families`). `--format standard` writes the frames as the field's standard file
instead, `OUT_DIR/mnist_test_seq.npy` laid out (T, N, H, W) uint8, with the same meta.npz and
export.json beside it. The export is written
into a hidden folder beside OUT_DIR and renamed onto it when whole (`lmc.io.atomic_folder`), so a
killed export leaves no half dataset, and running it again removes what the killed one left.
`kth` writes its own manifest.csv (`lmc.data.kth`). A bad argument, folder or file ends in one
line on stderr and exit status 2 (`lmc.cli`); `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from lmc import cli
from lmc.data.folders import write_manifest, write_video_frames
from lmc.errors import DataError
from lmc.io import atomic_folder

EXPORT_ARRAYS = ("labels", "digit_indices", "positions", "continuous_positions", "velocities")
CONTEXT_ARRAYS = ("families", "family_params")
EXPORT_MANIFEST_COLUMNS = ("folder", "clip", "frames", "labels", "seed", "split")
CONTEXT_MANIFEST_COLUMNS = (*EXPORT_MANIFEST_COLUMNS, "families")
EXPORT_FORMATS = ("folders", "standard")
STANDARD_FILE_NAME = "mnist_test_seq.npy"


def export_metadata(clips) -> dict[str, np.ndarray]:
    """The arrays meta.npz holds for `clips`: the true motion, and with motion contexts each
    digit's family and parameters with the names that read them."""
    arrays = {name: getattr(clips, name) for name in EXPORT_ARRAYS}
    if clips.families is not None:
        from lmc.data.motion_contexts import FAMILIES, PARAM_NAMES

        arrays.update({name: getattr(clips, name) for name in CONTEXT_ARRAYS})
        arrays["family_names"] = np.array(FAMILIES)
        arrays["param_names"] = np.array(PARAM_NAMES)
    return arrays


def export_moving_mnist(
    out_dir: str | os.PathLike,
    *,
    num_clips: int,
    seq_len: int,
    seed: int,
    split: str,
    num_digits: int = 2,
    image_size: int = 64,
    ext: str = "png",
    motion: str = "standard",
    layout: str = "folders",
) -> Path:
    """Generate clips with `generate_clips` and write them as frame folders under out_dir
    (`layout="standard"`: as one standard-layout file, see the module's docstring).

    Writes video_00000/ ... (frames, and a meta.json with the clip's digit labels), meta.npz
    holding (N, ...) arrays `labels`, `digit_indices`, `positions`, `continuous_positions`,
    `velocities` (see `MovingMNISTClips`), manifest.csv (one row per folder: its clip number,
    frames, digit labels separated by spaces, seed and split) and export.json with the arguments.
    PNG frames are exactly the generated ones; JPEG ones are lossy. Returns out_dir, which
    appears only once every file is written (`lmc.io.atomic_folder`).
    """
    from lmc.data.moving_mnist import GENERATOR_VERSION, generate_clips

    out_dir = Path(out_dir)
    if layout not in EXPORT_FORMATS:
        raise ValueError(f"format={layout!r}: must be one of {', '.join(EXPORT_FORMATS)}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; export into a new or empty folder")
    # Before writing anything, so that bad arguments leave no folder behind.
    clips = generate_clips(
        num_clips,
        seq_len,
        seed=seed,
        split=split,
        num_digits=num_digits,
        image_size=image_size,
        motion=motion,
    )
    if motion == "contexts":
        from lmc.data.motion_contexts import CONTEXTS_GENERATOR_VERSION as GENERATOR_VERSION
    args = {
        "generator": "lmc.data.moving_mnist.generate_clips",
        "generator_version": GENERATOR_VERSION,
        "motion": motion,
        "format": layout,
        "num_clips": num_clips,
        "seq_len": seq_len,
        "seed": seed,
        "split": split,
        "num_digits": num_digits,
        "image_size": image_size,
        "ext": ext,
    }
    with atomic_folder(out_dir) as tmp:
        np.savez(tmp / "meta.npz", **export_metadata(clips))
        if layout == "standard":
            np.save(
                tmp / STANDARD_FILE_NAME, np.ascontiguousarray(clips.frames.transpose(1, 0, 2, 3))
            )
            (tmp / "export.json").write_text(json.dumps(args, indent=1))
            return out_dir
        family_names = _family_names(clips)
        manifest = []
        for i, frames in enumerate(clips.frames):
            meta = {"clip": i, "labels": clips.labels[i].tolist(), "seed": seed, "split": split}
            name = f"video_{i:05d}"
            write_video_frames(tmp / name, frames, ext, meta=meta)
            manifest.append(
                {
                    "folder": name,
                    "clip": i,
                    "frames": len(frames),
                    "labels": " ".join(str(label) for label in meta["labels"]),
                    "seed": seed,
                    "split": split,
                    **({"families": family_names[i]} if family_names else {}),
                }
            )
        columns = CONTEXT_MANIFEST_COLUMNS if family_names else EXPORT_MANIFEST_COLUMNS
        write_manifest(tmp, columns, manifest)
        # Written last: its presence says the export finished.
        (tmp / "export.json").write_text(json.dumps(args, indent=1))
    return out_dir


def _family_names(clips) -> list[str] | None:
    """Each clip's digit families as "orbit-cw zigzag", or None for standard clips."""
    if clips.families is None:
        return None
    from lmc.data.motion_contexts import FAMILIES

    return [" ".join(FAMILIES[f] for f in row) for row in clips.families]


def _export(args: argparse.Namespace) -> None:
    out = export_moving_mnist(
        args.out_dir,
        num_clips=args.num_clips,
        seq_len=args.seq_len,
        seed=args.seed,
        split=args.split,
        num_digits=args.num_digits,
        image_size=args.image_size,
        ext=args.ext,
        motion=args.motion,
        layout=args.format,
    )
    kind = "" if args.motion == "standard" else " with motion contexts"
    print(f"wrote {args.num_clips} clips{kind} of {args.seq_len} frames ({args.split}) to {out}")


def _kth(args: argparse.Namespace) -> None:
    from lmc.data.kth import ACTIONS, convert_kth

    summary = convert_kth(
        args.raw_dir,
        args.out_dir,
        size=args.size,
        sequences_file=args.sequences,
        actions=args.actions.split(",") if args.actions else ACTIONS,
        log=print,
    )
    print(summary)
    if sum(summary.videos.values()) == 0:
        raise DataError(f"no KTH video could be converted from {args.raw_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m lmc.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="generated Moving-MNIST as frame folders")
    export.add_argument("out_dir", type=Path)
    export.add_argument("--num-clips", type=int, required=True)
    export.add_argument("--seq-len", type=int, required=True)
    export.add_argument("--seed", type=int, required=True)
    export.add_argument("--split", choices=("train", "val", "test"), required=True)
    export.add_argument("--num-digits", type=int, default=2)
    export.add_argument("--image-size", type=int, default=64)
    export.add_argument("--ext", choices=("png", "jpg"), default="png")
    export.add_argument(
        "--motion",
        choices=("standard", "contexts"),
        default="standard",
        help="standard: every digit bounces; contexts: six motion families (default standard)",
    )
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="folders",
        help=f"folders: one frame folder per clip; standard: one {STANDARD_FILE_NAME} (T, N, H, W)",
    )
    export.set_defaults(run=_export)

    kth = commands.add_parser("kth", help="the KTH archive's AVIs as 128x128 gray frame folders")
    kth.add_argument("raw_dir", type=Path, help="folder holding personNN_<action>_dN_uncomp.avi")
    kth.add_argument("out_dir", type=Path, help="gets train/ (persons 1-16) and test/ (17-25)")
    kth.add_argument("--sequences", type=Path, help="the archive's sequences.txt: cut videos")
    kth.add_argument("--size", type=int, default=128, help="side of the square frames")
    kth.add_argument("--actions", help="comma-separated subset of the six actions (default all)")
    kth.set_defaults(run=_kth)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Raises ConfigError for bad flags, DataError, another ValueError or an OSError for bad
    folders and files; `cli.run` turns each into one line and status 2."""
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    cli.run(main, prog="lmc.data")
