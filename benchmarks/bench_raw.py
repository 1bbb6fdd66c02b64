"""Time a 512 x 512 hex RAW with OCL against a direct spatial-convolution baseline in the same process.

Workload (issue 4): preset 0.35 (hex CFA, default K = 2, so a 1024 x 1024 x 3 scene at 0.175 um),
4 OCL phases x 3 channels of S = 64 PSFs, the default 32-pixel window (elliptical Gaussians 3-6
samples wide, each phase shifted toward its sub-pixel as OCL tilt would), a cached scene and
cached OTFs (``make_sensor_otf``).
Timed: ``simulate_raw`` (scene FFT, 12 folded products, ground truth, Gaussian noise).
Baseline: per (phase, channel) ``scipy.signal.fftconvolve`` of the periodically padded scene with
the PSF (scipy.fft on all cores), then sampling at the pixel centres. The centres lie half a
sample off the grid (K even), so the baseline convolves with each Gaussian evaluated half a sample
over (exact for these band-limited Gaussians); both RAWs are compared noise-free.

Run: ``.venv/bin/python benchmarks/bench_raw.py [--pixels 512] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy.fft
import scipy.signal

from timing import best_time

from engine import optics
from engine.design import preset
from engine.sensor import cfa_pattern, make_sensor_otf, ocl_phase_map, simulate_raw

PSF_SIZE = optics.PSF_WINDOW_PX * preset("0.35").oversample


def gaussian_psfs(size: int, offset_samples: float) -> np.ndarray:
    """(4, 3, S, S) float64 elliptical Gaussians evaluated at (index - S//2 + offset_samples)."""
    u = np.arange(size) - size // 2 + offset_samples
    out = np.empty((4, 3, size, size))
    for p in range(4):
        tilt_y, tilt_x = 0.6 * ((p // 2) - 0.5), 0.6 * ((p % 2) - 0.5)  # samples, toward the sub-pixel
        for c, (sigma_y, sigma_x) in enumerate([(3.0, 3.4), (3.6, 4.0), (5.2, 6.0)]):
            g = np.exp(-0.5 * ((u[:, None] - tilt_y) / sigma_y) ** 2 - 0.5 * ((u[None, :] - tilt_x) / sigma_x) ** 2)
            out[p, c] = g / g.sum()
    return out


def baseline_raw(scene: np.ndarray, psf_half_shifted: np.ndarray, oversample: int, cfa, phase) -> np.ndarray:
    """Per (phase, channel): periodic fftconvolve on the full scene grid, sample the pixel centres."""
    size = psf_half_shifted.shape[-1]
    rows, cols = cfa.shape
    first = (oversample - 1) // 2 + 1  # valid-mode index of pixel 0's centre: y_valid[t] = (s * h)[t - 1]
    raw = np.empty((rows, cols), np.float32)
    with scipy.fft.set_workers(os.cpu_count()):
        for c in range(3):
            padded = np.pad(scene[..., c], size // 2, mode="wrap")
            for p in range(4):
                mask = (cfa == c) & (phase == p)
                if mask.any():
                    blurred = scipy.signal.fftconvolve(padded, psf_half_shifted[p, c], mode="valid")
                    raw[mask] = blurred[first::oversample, first::oversample][:rows, :cols][mask]
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=512, help="RAW side, pixels (even)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    design = preset("0.35")
    k = design.oversample
    n = args.pixels * k
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"workload: {args.pixels} x {args.pixels} {design.cfa} RAW, K = {k}, scene {n} x {n} x 3, "
          f"PSFs 4 x 3 x {PSF_SIZE}^2")

    scene = np.random.default_rng(0).random((n, n, 3), dtype=np.float32)
    psf = gaussian_psfs(PSF_SIZE, 0.0).astype(np.float32)
    delta = np.zeros((4, 3, 8, 8), np.float32)
    delta[..., 4, 4] = 1
    t0 = time.perf_counter()
    simulate_raw(scene[: 8 * k, : 8 * k], delta, design, rng=0)  # loads (or compiles) the numba kernel
    warmup_s = time.perf_counter() - t0
    otf_s, otf = best_time(lambda: make_sensor_otf(psf, design, scene.shape), 3)
    ours_s, _ = best_time(lambda: simulate_raw(scene, otf, design, rng=0), args.repeats)
    ours = simulate_raw(scene, otf, design, rng=0, noise="none").raw

    cfa, phase = cfa_pattern(design.cfa, (args.pixels,) * 2), ocl_phase_map((args.pixels,) * 2)
    shifted = gaussian_psfs(PSF_SIZE, (k - 1) / 2 - (k - 1) // 2)
    base_s, theirs = best_time(lambda: baseline_raw(scene, shifted, k, cfa, phase), max(1, args.repeats // 2))
    diff = np.abs(ours - theirs).max()

    print(f"numba kernel load (first call, small): {warmup_s:.3f} s")
    print(f"make_sensor_otf (cached per design, best of 3): {otf_s:.3f} s")
    print(f"{'pixels':>7} {'smallpix s':>11} {'fftconvolve s':>14} {'speed-up':>9} {'max |diff|':>11} {'target':>7}")
    print(f"{args.pixels:>7d} {ours_s:>11.3f} {base_s:>14.3f} {base_s / ours_s:>8.1f}x {diff:>11.2e} "
          f"{'ok' if ours_s <= 0.5 else 'MISS':>7}")


if __name__ == "__main__":
    main()
