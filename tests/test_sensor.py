"""Sensor against closed forms and an independent direct evaluation: CFA layouts, exact image
formation, ground truth, noise statistics, flux modes, bursts, the npz contract and input errors."""

import json

import numpy as np
import pytest

from engine.design import DesignPoint
from engine.sensor import (
    REFERENCE_SIGNAL,
    add_capture_noise,
    add_noise,
    cfa_pattern,
    effective_snr_db,
    make_sensor_otf,
    noise_sigma_map,
    prepare_scene,
    ocl_phase_map,
    render_clean,
    render_ground_truth,
    simulate_raw,
)

K = 4
ATOL_EXACT = 1e-5  # float32 FFT round-off on O(1) signals
ATOL_GROUND_TRUTH = 1e-4  # brief: delta PSF + pixel box == ground truth
SNR_TOL_DB = 0.3  # design.md 5: flat-field SNR within 0.3 dB
VAR_RATIO_RTOL = 0.05  # 128 x 128 flat fields: ~1.6 % standard error on a variance ratio


def design(cfa="hex", oversample=K, **kw):
    kw = {"pitch_um": 0.5, "f_number": 2.0, **kw}
    return DesignPoint(cfa=cfa, oversample=oversample, **kw)


def delta_psfs(size=16):
    psf = np.zeros((4, 3, size, size), np.float32)
    psf[:, :, size // 2, size // 2] = 1
    return psf


def gaussian_psfs(size=32, distinct=True):
    """(4, 3, S, S) Gaussians; with ``distinct`` each (phase, channel) has its own width and an
    off-centre shift (as OCL tilt would), else all identical."""
    u = np.arange(size) - size // 2
    psf = np.empty((4, 3, size, size))
    for p in range(4):
        for c in range(3):
            sigma = 1.5 + 0.4 * c + 0.2 * p if distinct else 2.0
            dy, dx = (0.3 * (p // 2) - 0.15, 0.3 * (p % 2) - 0.15) if distinct else (0.0, 0.0)
            g = np.exp(-((u[:, None] - dy) ** 2 + (u[None, :] - dx) ** 2) / (2 * sigma**2))
            psf[p, c] = g / g.sum()
    return psf.astype(np.float32)


def box_psfs(size, fill_factor=1.0):
    """Delta PSF integrated over the pixel aperture on an S x S grid (sinc OTF, centre at S//2)."""
    f = np.fft.fftfreq(size)
    otf = np.outer(np.sinc(f * fill_factor * K), np.sinc(f * fill_factor * K))
    box = np.fft.fftshift(np.fft.ifft2(otf).real)
    return np.broadcast_to(box, (4, 3, size, size)).astype(np.float32)


def smooth_scene(pixels, rng, max_cycles=6, mono=False):
    """Random periodic scene band-limited to ``max_cycles`` cycles per image side, ~0.5 +- 0.2."""
    n = pixels * K
    channels = 1 if mono else 3
    spec = np.zeros((channels, n, n), complex)
    for c in range(channels):
        for ky in range(-max_cycles, max_cycles + 1):
            for kx in range(-max_cycles, max_cycles + 1):
                spec[c, ky % n, kx % n] = rng.normal() + 1j * rng.normal()
    scene = np.fft.ifft2(spec).real
    scene = 0.5 + 0.2 * scene / np.abs(scene).max(axis=(1, 2), keepdims=True)
    if mono:
        scene = np.repeat(scene, 3, axis=0)
    return scene.transpose(1, 2, 0).astype(np.float32)


def direct_raw(scene, psf, cfa, phase, oversample):
    """Independent float64 reference: the band-limited blurred scene evaluated at every pixel centre
    by an explicit DFT sum (Nyquist term split symmetrically), each pixel its own (phase, colour)."""
    n_rows, n_cols, _ = scene.shape
    rows, cols = cfa.shape
    size = psf.shape[-1]
    centre_y = np.arange(rows) * oversample + (oversample - 1) / 2
    centre_x = np.arange(cols) * oversample + (oversample - 1) / 2

    def synthesis(n, centres):
        matrix = np.exp(2j * np.pi * np.outer(centres, np.fft.fftfreq(n)))
        matrix[:, n // 2] = np.cos(np.pi * centres)
        return matrix

    ey, ex = synthesis(n_rows, centre_y), synthesis(n_cols, centre_x)
    out = np.zeros((rows, cols))
    for p in range(4):
        for c in range(3):
            kernel = np.zeros((n_rows, n_cols))  # the PSF centred at 0, wrapped onto the periodic scene
            offsets = np.arange(size) - size // 2
            np.add.at(kernel, (offsets[:, None] % n_rows, offsets[None, :] % n_cols), psf[p, c])
            values = (ey @ (np.fft.fft2(scene[..., c]) * np.fft.fft2(kernel)) @ ex.T).real / (n_rows * n_cols)
            mask = (cfa == c) & (phase == p)
            out[mask] = values[mask]
    return out


def measured_snr_db(raw, level):
    return 20 * np.log10(level / raw.std())


# ---------------------------------------------------------------------------------------------
# CFA and OCL phase


@pytest.mark.parametrize("layout,block", [("hex", 4), ("quad", 2), ("bayer", 1)])
def test_cfa_counts_period_and_blocks(layout, block):
    cfa = cfa_pattern(layout, (64, 64))
    assert cfa.dtype == np.uint8 and cfa.shape == (64, 64)
    counts = np.bincount(cfa.ravel(), minlength=3) / cfa.size
    np.testing.assert_array_equal(counts, [0.25, 0.5, 0.25])
    period = 2 * block
    np.testing.assert_array_equal(cfa, np.roll(cfa, period, axis=0))
    np.testing.assert_array_equal(cfa, np.roll(cfa, period, axis=1))
    assert not np.array_equal(cfa, np.roll(cfa, block, axis=1))
    tile = cfa[:period, :period]
    expected = np.kron(np.array([[0, 1], [1, 2]]), np.ones((block, block), int))
    np.testing.assert_array_equal(tile, expected)


def test_ocl_phase_map():
    phase = ocl_phase_map((6, 8))
    assert phase.dtype == np.uint8
    rows, cols = np.indices((6, 8))
    np.testing.assert_array_equal(phase, 2 * (rows % 2) + cols % 2)


@pytest.mark.parametrize("layout,pairs", [("hex", 12), ("quad", 12), ("bayer", 4)])
def test_only_occurring_phase_colour_pairs_are_transformed(layout, pairs):
    otf = make_sensor_otf(delta_psfs(), design(layout), (64, 64, 3))
    assert len(otf.pairs) == pairs == otf.otf.shape[0]
    if layout == "bayer":
        assert otf.pairs == ((0, 0), (1, 1), (2, 1), (3, 2))


# ---------------------------------------------------------------------------------------------
# Image formation


@pytest.mark.parametrize("layout", ["hex", "quad", "bayer"])
@pytest.mark.parametrize("oversample", [4, 3])
def test_raw_matches_direct_evaluation(layout, oversample):
    rng = np.random.default_rng(7)
    d = design(layout, oversample)
    scene = rng.random((16 * oversample, 24 * oversample, 3), dtype=np.float32)
    psf = gaussian_psfs(size=16)
    cap = simulate_raw(scene, psf, d, rng=0, noise="none")
    expected = direct_raw(scene.astype(float), psf.astype(float), cap.cfa, cap.phase, oversample)
    np.testing.assert_allclose(cap.raw, expected, atol=ATOL_EXACT)


def test_a_psf_wider_than_the_scene_wraps_onto_it_as_periodic_convolution():
    """A slow lens's PSF window (optics.psf_window_px) can exceed a small periodic grating window:
    each PSF sample lands at its position modulo the scene, as the direct DFT evaluation says."""
    rng = np.random.default_rng(8)
    d = design("hex", 2)
    scene = rng.random((16 * 2, 24 * 2, 3), dtype=np.float32)
    u = np.arange(80) - 40
    wide = np.exp(-(u[:, None] ** 2 + (u[None, :] - 3.0) ** 2) / (2 * 9.0**2))
    psf = np.broadcast_to((wide / wide.sum()).astype(np.float32), (4, 3, 80, 80)).copy()
    cap = simulate_raw(scene, psf, d, rng=0, noise="none")
    expected = direct_raw(scene.astype(float), psf.astype(float), cap.cfa, cap.phase, 2)
    np.testing.assert_allclose(cap.raw, expected, atol=ATOL_EXACT)


@pytest.mark.parametrize("fill_factor", [1.0, 0.5])
def test_delta_psf_with_pixel_box_reproduces_ground_truth(fill_factor):
    pixels = 64
    d = design("hex", fill_factor=fill_factor)
    scene = np.random.default_rng(3).random((pixels * K, pixels * K, 3), dtype=np.float32)
    cap = simulate_raw(scene, box_psfs(pixels * K, fill_factor), d, rng=0, noise="none")
    gt_own_colour = np.take_along_axis(cap.ground_truth, cap.cfa[..., None].astype(np.intp), axis=2)[..., 0]
    np.testing.assert_allclose(cap.raw, gt_own_colour, atol=ATOL_GROUND_TRUTH)


def test_ground_truth_of_a_grating_is_the_sinc_attenuated_grating():
    n, ky, kx, fill = 32 * K, 5, 11, 0.8
    y, x = np.indices((n, n))
    grating = 0.5 + 0.3 * np.cos(2 * np.pi * (ky * y + kx * x) / n + 0.4)
    gt = render_ground_truth(np.repeat(grating[..., None], 3, axis=2).astype(np.float32), design(fill_factor=fill))
    centre = np.arange(n // K) * K + (K - 1) / 2
    width = fill * K
    expected = 0.5 + 0.3 * np.sinc(ky * width / n) * np.sinc(kx * width / n) * np.cos(
        2 * np.pi * (ky * centre[:, None] + kx * centre[None, :]) / n + 0.4
    )
    for c in range(3):
        np.testing.assert_allclose(gt[..., c], expected, atol=ATOL_EXACT)


def test_odd_oversample_box_of_k_samples_is_the_pixel_block_mean():
    k, pixels = 3, 16
    scene = np.random.default_rng(4).random((pixels * k, pixels * k, 3), dtype=np.float32)
    psf = np.zeros((4, 3, 8, 8), np.float32)
    psf[:, :, 3:6, 3:6] = 1 / 9  # 3 x 3 samples centred on (4, 4)
    cap = simulate_raw(scene, psf, design("quad", k), rng=0, noise="none")
    block_mean = scene.reshape(pixels, k, pixels, k, 3).mean(axis=(1, 3))
    expected = np.take_along_axis(block_mean, cap.cfa[..., None].astype(np.intp), axis=2)[..., 0]
    np.testing.assert_allclose(cap.raw, expected, atol=ATOL_EXACT)


def test_mean_of_a_periodic_scene_is_preserved():
    pixels = 64
    n = pixels * K
    y, x = np.indices((n, n))
    # periods of 64 and 256 / 5 samples: no energy at multiples of the 8-pixel CFA frequency
    mono = 0.5 + 0.2 * np.cos(2 * np.pi * 3 * x / n) + 0.1 * np.sin(2 * np.pi * (2 * y + 5 * x) / n)
    scene = np.repeat(mono[..., None], 3, axis=2).astype(np.float32)
    cap = simulate_raw(scene, gaussian_psfs(), design("hex"), rng=0, noise="none")
    assert cap.raw.mean() == pytest.approx(0.5, abs=ATOL_EXACT)
    rgb = np.random.default_rng(5).random((n, n, 3), dtype=np.float32)
    gt = render_ground_truth(rgb, design())
    np.testing.assert_allclose(gt.mean(axis=(0, 1)), rgb.mean(axis=(0, 1)), atol=ATOL_EXACT)


def test_whole_pixel_scene_shift_rolls_the_raw():
    rng = np.random.default_rng(6)
    mono = smooth_scene(32, rng, mono=True)
    same_psf = gaussian_psfs(distinct=False)
    base = simulate_raw(mono, same_psf, design("hex"), rng=0, noise="none").raw
    moved = simulate_raw(np.roll(mono, (K, -2 * K), axis=(0, 1)), same_psf, design("hex"), rng=0, noise="none").raw
    np.testing.assert_allclose(moved, np.roll(base, (1, -2), axis=(0, 1)), atol=ATOL_EXACT)
    # colour scene, distinct (phase, colour) PSFs: a shift by one CFA period (8 px) rolls exactly
    colour = rng.random((32 * K, 32 * K, 3), dtype=np.float32)
    base = simulate_raw(colour, gaussian_psfs(), design("hex"), rng=0, noise="none").raw
    moved = simulate_raw(np.roll(colour, 8 * K, axis=1), gaussian_psfs(), design("hex"), rng=0, noise="none").raw
    np.testing.assert_allclose(moved, np.roll(base, 8, axis=1), atol=ATOL_EXACT)


def phase_correlation_shift(frame, reference, max_cycles):
    """(dy, dx) pixels such that frame(y, x) = reference(y - dy, x - dx), least squares on the
    cross-power phase of the low-frequency bins."""
    rows, cols = frame.shape
    cross = np.fft.fft2(frame) * np.conj(np.fft.fft2(reference))
    ky, kx = np.meshgrid(np.fft.fftfreq(rows) * rows, np.fft.fftfreq(cols) * cols, indexing="ij")
    use = (np.abs(ky) <= max_cycles) & (np.abs(kx) <= max_cycles) & ((ky != 0) | (kx != 0))
    design_matrix = -2 * np.pi * np.stack([ky[use] / rows, kx[use] / cols], axis=1)
    return np.linalg.lstsq(design_matrix, np.angle(cross[use]), rcond=None)[0]


def test_burst_subpixel_shifts_are_the_returned_ones():
    pixels, cycles = 64, 6
    scene = smooth_scene(pixels, np.random.default_rng(8), max_cycles=cycles, mono=True)
    psf = gaussian_psfs(distinct=False)
    cap = simulate_raw(scene, psf, design("hex"), rng=11, frames=4, noise="none", max_shift_px=1.5)
    assert cap.raw.shape == (4, pixels, pixels) and cap.shifts_px.shape == (4, 2)
    np.testing.assert_array_equal(cap.shifts_px[0], 0)
    assert np.all(np.abs(cap.shifts_px[1:]) <= 1.5) and np.any(np.abs(cap.shifts_px[1:] % 1) > 0.05)
    for f in range(1, 4):
        measured = phase_correlation_shift(cap.raw[f], cap.raw[0], cycles)
        np.testing.assert_allclose(measured, cap.shifts_px[f], atol=1e-3)
    np.testing.assert_allclose(cap.shifts_um, cap.shifts_px * 0.5)


def test_burst_rotation_draws_small_angles_and_keeps_frame_zero():
    scene = smooth_scene(32, np.random.default_rng(9))
    cap = simulate_raw(scene, gaussian_psfs(), design(), rng=1, frames=3, noise="none", max_rotation_deg=2.0)
    assert cap.rotations_deg[0] == 0 and np.all(np.abs(cap.rotations_deg[1:]) <= 2.0)
    assert np.all(cap.rotations_deg[1:] != 0)
    still = simulate_raw(scene, gaussian_psfs(), design(), rng=1, noise="none")
    np.testing.assert_array_equal(cap.raw[0], still.raw)


def test_clean_frames_then_noise_equal_simulate_raw_at_any_snr():
    """The app caches the clean frames and redraws only the noise when the SNR moves: the two
    steps must give exactly simulate_raw's capture (burst, rotation, Poisson noise included)."""
    scene = smooth_scene(32, np.random.default_rng(12))
    base = design("hex", snr_db=35.0)
    clean = render_clean(scene, gaussian_psfs(), base, rng=4, frames=3, max_rotation_deg=1.0)
    for snr_db, flux in ((35.0, "hold"), (18.0, "physical")):
        noisy = base.replace(snr_db=snr_db, flux=flux)
        expected = simulate_raw(scene, gaussian_psfs(), noisy, rng=4, frames=3, max_rotation_deg=1.0,
                                noise="poisson_gaussian", read_noise_e=2.0)
        got = add_capture_noise(clean, noisy, noise="poisson_gaussian", read_noise_e=2.0)
        np.testing.assert_array_equal(got.raw, expected.raw)
        np.testing.assert_array_equal(got.noise_sigma, expected.noise_sigma)
        assert got.snr_db == expected.snr_db and got.design == noisy
    with pytest.raises(ValueError, match="except snr_db and flux"):
        add_capture_noise(clean, base.replace(cfa="quad"))
    prepared = prepare_scene(scene, base)  # what the app caches per scene
    again = render_clean(prepared, gaussian_psfs(), base.replace(f_number=2.5), rng=4, frames=3, max_rotation_deg=1.0)
    np.testing.assert_array_equal(again.clean, clean.clean)  # psf_pixel given: F# unused here
    np.testing.assert_array_equal(again.ground_truth, clean.ground_truth)
    with pytest.raises(ValueError, match="rebuild it with prepare_scene"):
        render_clean(prepared, gaussian_psfs(), base.replace(fill_factor=0.8), rng=4)


# ---------------------------------------------------------------------------------------------
# Noise and flux


def flat_scene(level, pixels=64):
    return np.full((pixels * K, pixels * K, 3), level, np.float32)


@pytest.mark.parametrize("model", ["gaussian", "poisson_gaussian"])
@pytest.mark.parametrize("snr_db", [35.0, 15.0])
def test_flat_field_snr_at_reference_level(model, snr_db):
    cap = simulate_raw(flat_scene(REFERENCE_SIGNAL), gaussian_psfs(), design(snr_db=snr_db), rng=2, noise=model)
    assert measured_snr_db(cap.raw, REFERENCE_SIGNAL) == pytest.approx(snr_db, abs=SNR_TOL_DB)
    np.testing.assert_allclose(cap.noise_sigma, REFERENCE_SIGNAL / 10 ** (snr_db / 20), rtol=1e-5)


@pytest.mark.parametrize("model", ["gaussian", "poisson_gaussian"])
def test_noise_variance_proportional_to_signal(model):
    low, high = 0.25, 1.0
    caps = [simulate_raw(flat_scene(level, 128), delta_psfs(), design(snr_db=30.0), rng=3, noise=model)
            for level in (low, high)]
    ratio = caps[0].raw.var() / caps[1].raw.var()
    assert ratio == pytest.approx(low / high, rel=VAR_RATIO_RTOL)
    assert caps[0].noise_sigma[0, 0] ** 2 / caps[1].noise_sigma[0, 0] ** 2 == pytest.approx(low / high, rel=1e-5)


def test_read_noise_adds_its_variance():
    signal = np.full((128, 128), 0.25, np.float32)
    noisy, sigma = add_noise(signal, 35.0, model="poisson_gaussian", read_noise_e=20.0, rng=4)
    gain = 10 ** 3.5  # electrons per unit signal at 35 dB
    expected_var = (0.25 * gain + 20.0**2) / gain**2
    np.testing.assert_allclose(sigma**2, expected_var, rtol=1e-5)
    assert noisy.var() == pytest.approx(expected_var, rel=VAR_RATIO_RTOL)


def test_noise_is_not_clipped():
    noisy, sigma = add_noise(np.full((64, 64), 1e-3, np.float32), 15.0, rng=5)
    assert noisy.min() < 0 and np.all(sigma > 0)
    noisy, sigma = add_noise(np.full((8, 8), -1e-3, np.float32), 35.0, model="poisson_gaussian", rng=5)
    np.testing.assert_array_equal(noisy, np.float32(-1e-3))  # negative clean signal: zero shot noise, mean kept
    np.testing.assert_array_equal(sigma, 0)


def test_physical_flux_follows_pitch_and_hold_keeps_snr():
    small = dict(pitch_um=0.35, f_number=2.6, snr_db=35.0)
    large = dict(pitch_um=0.75, f_number=2.6, snr_db=35.0)
    drop_db = 20 * np.log10(0.35 / 0.75)  # -6.62 dB

    def snr(flux, kw):
        d = design(flux=flux, **kw)
        cap = simulate_raw(flat_scene(REFERENCE_SIGNAL), delta_psfs(), d, rng=6)
        return effective_snr_db(d), measured_snr_db(cap.raw, REFERENCE_SIGNAL)

    (eff_small, meas_small), (eff_large, meas_large) = snr("physical", small), snr("physical", large)
    assert eff_small - eff_large == pytest.approx(drop_db, abs=1e-9)
    assert meas_small - meas_large == pytest.approx(drop_db, abs=2 * SNR_TOL_DB)
    (eff_small, meas_small), (eff_large, meas_large) = snr("hold", small), snr("hold", large)
    assert eff_small == eff_large == 35.0
    assert meas_small == pytest.approx(meas_large, abs=2 * SNR_TOL_DB)


def test_physical_flux_is_neutral_at_the_reference_and_for_table1_scaling():
    assert effective_snr_db(DesignPoint(pitch_um=0.75, f_number=3.55, flux="physical")) == pytest.approx(35.0)
    assert effective_snr_db(DesignPoint(pitch_um=0.35, f_number=1.66, flux="physical")) == pytest.approx(35.0, abs=0.05)


def test_sigma_map_uses_clean_signal_clamped_at_zero():
    sigma = noise_sigma_map(np.array([-1.0, 0.0, 1.0, 4.0], np.float32), 20.0)
    np.testing.assert_allclose(sigma, [0.0, 0.0, 0.1, 0.2], rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Reproducibility, caching, npz contract


def test_seeded_and_reproducible():
    scene = smooth_scene(32, np.random.default_rng(10))
    a = simulate_raw(scene, gaussian_psfs(), design(), rng=42, frames=2)
    b = simulate_raw(scene, gaussian_psfs(), design(), rng=np.random.default_rng(42), frames=2)
    c = simulate_raw(scene, gaussian_psfs(), design(), rng=43, frames=2)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.shifts_px, b.shifts_px)
    assert not np.array_equal(a.raw, c.raw)


def test_cached_otf_gives_the_same_raw():
    scene = smooth_scene(32, np.random.default_rng(12))
    d = design("quad")
    otf = make_sensor_otf(gaussian_psfs(), d, scene.shape)
    np.testing.assert_array_equal(
        simulate_raw(scene, otf, d, rng=1).raw, simulate_raw(scene, gaussian_psfs(), d, rng=1).raw
    )
    with pytest.raises(ValueError, match="SensorOTF must match"):
        simulate_raw(scene, otf, design("hex"), rng=1)
    with pytest.raises(ValueError, match="SensorOTF must match"):
        simulate_raw(flat_scene(0.5, 16), otf, d, rng=1)


def test_npz_contract(tmp_path):
    scene = smooth_scene(32, np.random.default_rng(13))
    d = design()
    simulate_raw(scene, gaussian_psfs(), d, rng=0).to_npz(tmp_path / "r.npz")
    with np.load(tmp_path / "r.npz") as z:
        assert set(z.files) == {"raw", "noise_sigma", "cfa", "phase", "ground_truth", "design_json"}
        assert z["raw"].shape == z["noise_sigma"].shape == z["cfa"].shape == z["phase"].shape == (32, 32)
        assert z["raw"].dtype == np.float32 and z["ground_truth"].dtype == np.float32
        assert z["ground_truth"].shape == (32, 32, 3)
        assert set(np.unique(z["cfa"])) == {0, 1, 2} and set(np.unique(z["phase"])) == {0, 1, 2, 3}
        assert DesignPoint.from_dict(json.loads(str(z["design_json"]))) == d
    simulate_raw(scene, gaussian_psfs(), d, rng=0, frames=3).to_npz(tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as z:
        assert z["raw"].shape == (3, 32, 32) and z["shifts_px"].shape == (3, 2) and z["rotations_deg"].shape == (3,)


# ---------------------------------------------------------------------------------------------
# Input errors

GOOD_SCENE = np.full((32, 32, 3), 0.5, np.float32)


@pytest.mark.parametrize(
    "scene,match",
    [
        (np.zeros((30, 32, 3), np.float32), r"multiple of 2\*K = 8 samples"),
        (np.zeros((36, 32, 3), np.float32), r"multiple of 2\*K = 8 samples"),  # 9 pixels: odd
        (np.zeros((32, 32, 4), np.float32), r"\(H\*K, W\*K, 3\)"),
        (np.zeros((32, 32), np.float32), r"\(H\*K, W\*K, 3\)"),
        (np.zeros((32, 32, 3), np.uint8), "float ndarray"),
        (np.where(np.eye(32)[..., None], np.nan, np.full((32, 32, 3), 0.5)).astype(np.float32), "finite, got 96 NaN"),
    ],
)
def test_bad_scene(scene, match):
    with pytest.raises(ValueError, match=match):
        simulate_raw(scene, delta_psfs(8), design(), rng=0)


def _psf_with_nan():
    psf = delta_psfs(8)
    psf[1, 2, 0, 0] = np.nan
    return psf


@pytest.mark.parametrize(
    "psf,match",
    [
        (np.zeros((4, 3, 9, 9), np.float32), r"\(4 phases, 3 channels, S, S\) with S even, got \(4, 3, 9, 9\)"),
        (np.zeros((3, 3, 8, 8), np.float32), r"\(4 phases, 3 channels, S, S\)"),
        (delta_psfs(8) * 2, r"sum to 1 \(within 0.001\), got 2 for phase 0, channel R"),
        (_psf_with_nan(), "psf_pixel must be finite"),
        ([[0.0]], "psf_pixel must be a float ndarray"),
    ],
)
def test_bad_psf(psf, match):
    with pytest.raises(ValueError, match=match):
        simulate_raw(GOOD_SCENE, psf, design(), rng=0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(frames=0), r"frames must be an integer in \[1, 16\], got 0"),
        (dict(frames=17), r"frames must be an integer in \[1, 16\], got 17"),
        (dict(noise="laplace"), "noise must be one of gaussian, poisson_gaussian, none, got 'laplace'"),
        (dict(read_noise_e=-1.0), r"read_noise_e must be a finite number >= 0 \(electrons\), got -1.0"),
        (dict(max_shift_px=20.0), r"max_shift_px must be in \[0, 16\] pixels, got 20.0"),
        (dict(max_rotation_deg=-1.0), r"max_rotation_deg must be in \[0, 10\] degrees, got -1.0"),
        (dict(rng=-1), "rng must be a numpy.random.Generator or a non-negative int seed, got -1"),
        (dict(rng=True), "rng must be a numpy.random.Generator or a non-negative int seed, got True"),
    ],
)
def test_bad_options(kwargs, match):
    kwargs = {"rng": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_raw(GOOD_SCENE, delta_psfs(8), design(), **kwargs)


def test_bad_layout_shape_and_design():
    with pytest.raises(ValueError, match="cfa layout must be one of hex, quad, bayer, got 'xtrans'"):
        cfa_pattern("xtrans", (8, 8))
    with pytest.raises(ValueError, match=r"shape must be \(H, W\) positive integers"):
        ocl_phase_map((8, 0))
    with pytest.raises(ValueError, match="design must be a DesignPoint, got dict"):
        simulate_raw(GOOD_SCENE, delta_psfs(8), {"pitch_um": 0.5}, rng=0)
    with pytest.raises(ValueError, match="snr_db must be a finite number"):
        noise_sigma_map(np.ones(3), float("nan"))
