"""Pins on the physics (issue #14): each test here fails on one deliberate breakage that the rest of
the suite let through (``assets/tools/mutants.py`` applies those breakages and checks they are caught).

* OCL phases: PSF centroids equal the closed-form tilt shift, and the sensor places the phase whose
  PSF moves toward +x / +y at the right column / lower row of each 2 x 2 group (design.md 3).
* Pixel aperture: the optics' pixel MTF and the ground truth's box both carry the fill factor.
* Bursts: the noise of different frames is uncorrelated.
* Table 2 (quick settings): demosaic MTF50 within +-15 % of the paper's demosaiced column.

Units: micrometres (um) on the image plane, pixels (px), cycles/mm, waves at 550 nm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import optics, study
from engine.design import OCLOffsets, preset, presets
from engine.sensor import ocl_phase_map, render_ground_truth, simulate_raw

TILT_WAVES = 0.1
"""OCL tilt of the pinned design: a 0.218 um (0.62 px at 0.35 um) shift per axis, well resolved."""


def tilt_shift_um(tilt_waves: float, f_number_ref: float) -> float:
    """Closed-form PSF shift per axis (um) of an OCL phase: tilt/sqrt2 waves of Noll Z2 = 2 rho cos(theta)
    over the reference pupil is a wavefront slope of 2 tilt/sqrt2 waves per pupil radius, i.e. an
    image shift of that slope x lambda x 2 N_ref, lambda = 0.55 um (design.md 3; achromatic)."""
    return 2 * tilt_waves * 0.55 * 2 * f_number_ref / math.sqrt(2)


def _design_phase(row: int, col: int) -> int:
    """OCL phase of the pixel at (row % 2, col % 2) = (row, col) as design.md 3 defines it."""
    return 2 * row + col


def _position_signs(phase: int) -> tuple[float, float]:
    """(sx, sy) the design gives phase ``p``: +1 for the right column / lower row of the 2 x 2 group."""
    row, col = next((r, c) for r in (0, 1) for c in (0, 1) if _design_phase(r, c) == phase)
    return (1.0 if col == 1 else -1.0), (1.0 if row == 1 else -1.0)


@pytest.fixture(scope="module")
def tilted():
    """Aberration-free 0.35 um F/1.66 design with OCL tilt only (no coma), and its PSFs."""
    design = preset("0.35").replace(zernike=(), ocl=OCLOffsets(True, TILT_WAVES, 0.0))
    return design, optics.compute_psfs(design)


def _centroids_um(psf: np.ndarray, dx_um: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) centroids in um of (..., S, S) PSFs relative to the grid centre (S//2, S//2)."""
    size = psf.shape[-1]
    pos = (np.arange(size) - size // 2) * dx_um
    total = psf.sum(axis=(-1, -2))
    return (psf.sum(axis=-2) @ pos) / total, (psf.sum(axis=-1) @ pos) / total


def test_sensor_phase_map_is_two_row_plus_column():
    rows, cols = np.mgrid[0:6, 0:8]
    np.testing.assert_array_equal(ocl_phase_map((6, 8)), 2 * (rows % 2) + cols % 2)


def test_ocl_psf_centroids_shift_by_the_closed_form_tilt_toward_their_sub_pixel(tilted):
    """Every phase and channel: centroid = (sx, sy) x tilt shift within 5 % (window truncation ~2 %)."""
    design, psfs = tilted
    shift = tilt_shift_um(TILT_WAVES, design.f_number_ref)
    for name in ("psf_optical", "psf_pixel"):
        cx, cy = _centroids_um(getattr(psfs, name), psfs.dx_um)
        for p in range(4):
            sx, sy = _position_signs(p)
            np.testing.assert_allclose(cx[p], sx * shift, rtol=0.05, err_msg=f"{name} phase {p} x centroid (um)")
            np.testing.assert_allclose(cy[p], sy * shift, rtol=0.05, err_msg=f"{name} phase {p} y centroid (um)")


def test_sensor_pixels_see_the_scene_shifted_by_their_own_phases_psf(tilted):
    """End to end: a noise-free RAW of a smooth grey scene through the tilted design equals, at the
    pixels in position (row % 2, col % 2) of the 2 x 2 group, the OCL-free capture of the scene
    translated by (sx, sy) x the tilt shift with the design's signs for that position (of the four
    sign choices that one fits, residual under 2 % of the tilt's effect); and the capture's ``phase``
    label there names the optics' PSF that moves that way."""
    design, psfs = tilted
    plain = design.replace(ocl=OCLOffsets(False))
    plain_psf = optics.compute_psfs(plain).psf_pixel
    k, n_px, period_px = design.oversample, 64, 16
    s = (np.arange(n_px * k) + 0.5) / k  # sample positions, px
    w = 2 * np.pi / period_px
    shift_px = tilt_shift_um(TILT_WAVES, design.f_number_ref) / design.pitch_um

    def raw(psf, dm, dx_px=0.0, dy_px=0.0):
        """Noise-free RAW (H, W) of the grey scene translated by (dx, dy) px (content moves toward +x, +y)."""
        yy, xx = np.meshgrid(s - dy_px, s - dx_px, indexing="ij")
        scene = 0.5 + 0.15 * np.sin(w * xx) + 0.1 * np.cos(w * yy + 0.7)
        scene = np.repeat(scene[..., None], 3, axis=-1).astype(np.float32)
        return simulate_raw(scene, psf, dm, rng=0, noise="none")

    capture = raw(psfs.psf_pixel, design)
    untilted = raw(plain_psf, plain).raw
    signs = [(a, b) for a in (-1.0, 1.0) for b in (-1.0, 1.0)]
    moved = {sign: raw(plain_psf, plain, sign[0] * shift_px, sign[1] * shift_px).raw for sign in signs}
    cx, cy = _centroids_um(psfs.psf_pixel, psfs.dx_um)
    rows, cols = np.mgrid[0:n_px, 0:n_px]
    for r, c in ((0, 0), (0, 1), (1, 0), (1, 1)):
        where = (rows % 2 == r) & (cols % 2 == c)
        effect = np.abs(capture.raw[where] - untilted[where]).mean()
        residual = {sign: np.abs(capture.raw[where] - moved[sign][where]).mean() for sign in signs}
        best = min(residual, key=residual.get)
        expected = _position_signs(_design_phase(r, c))
        assert best == expected, f"pixels at (row%2, col%2) = {(r, c)} see the scene moved by {best} x shift"
        assert residual[best] < 0.02 * effect, f"{(r, c)}: residual {residual[best]:.2e}, effect {effect:.2e}"
        labels = np.unique(capture.phase[where])
        assert labels.size == 1, f"{(r, c)}: phase labels {labels}"
        p = int(labels[0])  # the optics' PSF of the label must be the one these pixels were formed with
        assert (np.sign(cx[p, 1]), np.sign(cy[p, 1])) == expected, f"{(r, c)} labelled phase {p}"


@pytest.mark.parametrize("fill", [0.5, 0.8])
def test_optics_pixel_mtf_is_the_sinc_of_the_fill_factor_aperture(fill):
    """psf_pixel / psf_optical along x and y (OTF ratio) = sinc(f w), w = fill_factor x pitch (um),
    the aperture width / pitch definition of DesignPoint.fill_factor; checked below 60 % of the cutoff."""
    design = preset("0.55").replace(zernike=(), ocl=OCLOffsets(False), fill_factor=fill)
    psfs = optics.compute_psfs(design, mono_nm=550.0)
    freq = np.linspace(100.0, 0.6 * optics.cutoff_cyc_per_mm(design.f_number), 8)  # cycles/mm
    for axis, (opt, pix) in enumerate(zip(optics.mtf_along_axes(psfs.psf_optical[0, 1], psfs.dx_um, freq),
                                          optics.mtf_along_axes(psfs.psf_pixel[0, 1], psfs.dx_um, freq))):
        expected = np.abs(np.sinc(freq * 1e-3 * fill * design.pitch_um))
        np.testing.assert_allclose(pix / opt, expected, rtol=2e-3, atol=2e-4, err_msg=f"axis {'HV'[axis]}")


def test_ground_truth_box_is_the_sinc_of_the_fill_factor_aperture():
    """A grating of f cycles/px along x keeps contrast sinc(f x fill_factor) in the ground truth."""
    design = preset("0.55").replace(fill_factor=0.5, oversample=4)
    k, n_px, cycles_per_px = design.oversample, 32, 0.375
    x = np.arange(n_px * k) / k
    row = 0.5 + 0.25 * np.cos(2 * np.pi * cycles_per_px * x)
    scene = np.broadcast_to(row[None, :, None], (n_px * k, n_px * k, 3)).astype(np.float32)
    truth = render_ground_truth(np.ascontiguousarray(scene), design)[..., 1].astype(np.float64)
    centre = np.arange(n_px) + (k - 1) / (2 * k)  # pixel centres, px on the scene's sample axis
    basis = np.stack([np.ones(n_px), np.cos(2 * np.pi * cycles_per_px * centre),
                      np.sin(2 * np.pi * cycles_per_px * centre)], axis=1)
    (_, a, b), *_ = np.linalg.lstsq(basis, truth.mean(axis=0), rcond=None)
    assert np.hypot(a, b) / 0.25 == pytest.approx(np.sinc(cycles_per_px * design.fill_factor), rel=0.01)


def test_burst_frames_have_independent_noise():
    """4 frames of a flat 0.5 grey, no motion: per-frame noise (noisy - clean) / sigma has unit
    standard deviation and frame-to-frame correlation |r| < 0.08 (N = 4096 px: 5 sigma of ~1/64)."""
    design = preset("0.35").replace(burst=4)
    psf = optics.compute_psfs(design).psf_pixel
    scene = np.full((64 * design.oversample, 64 * design.oversample, 3), 0.5, dtype=np.float32)
    noisy = simulate_raw(scene, psf, design, rng=7, max_shift_px=0.0)
    clean = simulate_raw(scene, psf, design, rng=7, max_shift_px=0.0, noise="none")
    assert noisy.raw.shape == (4, 64, 64)
    z = ((noisy.raw - clean.raw) / noisy.noise_sigma).reshape(4, -1).astype(np.float64)
    np.testing.assert_allclose(z.std(axis=1), 1.0, rtol=0.1)
    corr = np.corrcoef(z)
    off_diagonal = corr[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off_diagonal) < 0.08), corr.round(3)


def test_table2_quick_demosaic_mtf50_within_15_percent_of_the_paper():
    """The five Table 1 designs at the study's quick settings (64 px window, 12 gratings, ~10 s):
    demosaic MTF50 H and V within +-15 % of the paper's demosaiced column (cycles/mm)."""
    settings = study.STUDY_SETTINGS["quick"]
    rows, _ = study.table2(presets(), ("demosaic",), size_px=settings["size_px"], count=settings["count"])
    paper = study.paper_rows("table2_mtf50")
    assert len(rows) == 5
    for row in rows:
        for axis in ("h", "v"):
            theirs = paper[row["pitch_um"]][f"{axis}_demosaiced"]
            ratio = row[f"{axis}_demosaic"] / theirs
            assert 0.85 <= ratio <= 1.15, f"{row['pitch_um']} um {axis.upper()}: {row[f'{axis}_demosaic']} vs {theirs}"
