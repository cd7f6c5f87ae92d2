"""The tiny training run the end-to-end tests share: `tiny` preset, 32x32 frames, batch 2.

Seconds per iteration on CI's cores; each test adds its own budget and switches.
"""

TINY_TRAIN = [
    "--preset",
    "tiny",
    "--img_size",
    "32",
    "--short_len",
    "10",
    "--long_len",
    "12",
    "--out_len",
    "3",
    "--batch_size",
    "2",
    "--iterations_warmup",
    "2",
    "--sample_clips",
    "1",
    "--workers",
    "0",
]

# The training command line's tests: the tiny run with 4 validation clips.
TINY_CLI = [*TINY_TRAIN, "--val_clips", "4"]
