"""LPIPS (Zhang et al., CVPR 2018) with the AlexNet backbone: optional, and never downloaded.

The `lpips` package ships its small linear heads, but builds AlexNet through torchvision, whose
ImageNet weights come from a download into the torch hub cache. This machine is offline, so
LPIPS counts as available only when the package is importable and both weight files are already
on disk; otherwise `lpips()` raises MetricUnavailable saying which part is missing and where it
looked. `lpips_available()` never imports the package's network nor touches the network.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import torch

from lmc.metrics.pixel import check_frames

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's AlexNet_Weights.IMAGENET1K_V1
_LPIPS_HEAD = Path("weights") / "v0.1" / "alex.pth"  # inside the lpips package
_CHUNK_FRAMES = 64  # frames per forward pass, to bound activation memory
_networks: dict[str, torch.nn.Module] = {}


class MetricUnavailable(RuntimeError):
    """An optional metric whose package or weights are missing; the message says which."""


def _lpips_missing() -> str | None:
    """Why LPIPS cannot run here without a download, or None when it can."""
    spec = find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return "the `lpips` package is not installed (pip install lpips)"
    if find_spec("torchvision") is None:
        return "the `lpips` package needs torchvision, which is not installed"
    head = Path(next(iter(spec.submodule_search_locations))) / _LPIPS_HEAD
    if not head.is_file():
        return f"the LPIPS linear-head weights are missing: looked for {head}"
    backbone = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
    if not backbone.is_file():
        return (
            f"the AlexNet backbone weights are not in the torch hub cache: looked for {backbone} "
            "(set TORCH_HOME or copy the file there; this toolkit never downloads it)"
        )
    return None


def lpips_available() -> bool:
    """True when the `lpips` package and its AlexNet weights are all present locally."""
    return _lpips_missing() is None


def _lpips_network(device: torch.device) -> torch.nn.Module:
    """The LPIPS-AlexNet module on `device`, built once per device and shared (never mutated).

    Called with two (N, 3, H, W) batches in [-1, 1], it returns (N, 1, 1, 1) distances.
    """
    key = str(device)
    if key not in _networks:
        import lpips as lpips_package  # optional dependency, imported only when used

        net = lpips_package.LPIPS(net="alex", verbose=False).eval().requires_grad_(False)
        _networks[key] = net.to(device)
    return _networks[key]


@torch.no_grad()
def lpips(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) x 2 in [0, 1] -> (B, T) float64 LPIPS-AlexNet distance per frame.

    Frames are mapped to [-1, 1] as LPIPS expects and grayscale (C = 1) is repeated to 3 channels.
    Raises MetricUnavailable when the package or its weights are missing (see lpips_available).
    """
    check_frames(pred, target)
    b, t, c, h, w = pred.shape
    if c not in (1, 3):
        raise ValueError(f"LPIPS takes 1 (grayscale) or 3 (RGB) channels; got C = {c}")
    missing = _lpips_missing()
    if missing is not None:
        raise MetricUnavailable(f"LPIPS is unavailable: {missing}")
    net = _lpips_network(pred.device)
    x = pred.reshape(b * t, c, h, w).float().mul(2).sub(1).expand(-1, 3, -1, -1)
    y = target.reshape(b * t, c, h, w).float().mul(2).sub(1).expand(-1, 3, -1, -1)
    dists = [
        net(xs, ys).reshape(-1).double()
        for xs, ys in zip(x.split(_CHUNK_FRAMES), y.split(_CHUNK_FRAMES), strict=True)
    ]
    values = torch.cat(dists) if dists else x.new_zeros(0, dtype=torch.float64)
    return values.reshape(b, t)
