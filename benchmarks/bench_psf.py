"""Time one design's full PSF set against prysm's matrix DFT in the same process.

Workload (issue 3): 51 wavelengths x 4 OCL phases, N = 256 pupil samples across the reference
aperture, the default window (32 pixels: 64 x 64 samples at pitch/2), three channel sums. prysm
(``focus_fixed_sampling``, method 'mdft') propagates the same complex pupil fields; both PSF sets
are compared after normalisation.

Run: ``.venv/bin/python benchmarks/bench_psf.py [--preset 0.35] [--repeats 5]``
(prysm comes with the optional ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np

from timing import best_time

from engine import optics
from engine.design import preset
from engine.spectra import REFERENCE_WAVELENGTH_NM, WAVELENGTHS_NM, channel_weights

PUPIL_SAMPLES = 256
EFL_MM = 5.0  # arbitrary: the focal length drops out of the PSF on a micrometre grid


def prysm_psf_set(design) -> np.ndarray:
    """(4, 3, S, S) channel PSFs computed with prysm from full-grid complex pupils."""
    size = optics.psf_size(design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from prysm.propagation import focus_fixed_sampling
    u = optics.pupil_coordinates(PUPIL_SAMPLES, 1.0)
    yy, xx = np.meshgrid(u, u, indexing="ij")
    inside = np.hypot(xx, yy) <= design.pupil_fraction
    wavefronts = optics.phase_wavefronts(design, u)
    pupil_dx_mm = EFL_MM / design.f_number_ref / PUPIL_SAMPLES
    weights = channel_weights()
    out = np.empty((4, 3, size, size))
    for p in range(4):
        intensity = np.empty((WAVELENGTHS_NM.size, size, size))
        for w, lam in enumerate(WAVELENGTHS_NM):
            field = inside * np.exp(2j * np.pi * wavefronts[p] * REFERENCE_WAVELENGTH_NM / lam)
            e = focus_fixed_sampling(field, pupil_dx_mm, EFL_MM, lam * 1e-3, design.dx_um, size, method="mdft")
            i = np.abs(e) ** 2
            intensity[w] = i / i.sum()
        out[p] = np.tensordot(weights, intensity, axes=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=None, help="one Table 1 design (default: 0.75 and 0.35)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"{'design':>8} {'pupil px':>9} {'smallpix s':>11} {'prysm s':>9} {'speed-up':>9} {'max diff/peak':>14}")
    for name in [args.preset] if args.preset else ["0.75", "0.35"]:
        design = preset(name)
        ours_s, ours = best_time(lambda: optics.compute_psfs(design, pupil_samples=PUPIL_SAMPLES), args.repeats)
        prysm_s, theirs = best_time(lambda: prysm_psf_set(design), max(2, args.repeats // 2))
        diff = np.abs(ours.psf_optical - theirs).max() / theirs.max()
        cropped = optics.pupil_coordinates(PUPIL_SAMPLES, design.pupil_fraction).size
        print(f"{name:>8} {cropped:>9d} {ours_s:>11.3f} {prysm_s:>9.3f} {prysm_s / ours_s:>8.1f}x {diff:>14.2e}")


if __name__ == "__main__":
    main()
