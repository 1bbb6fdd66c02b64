"""Measuring instruments on images: MTF by sinusoidal gratings (lock-in), ISO 12233 slanted-edge
SFR, dead-leaves texture MTF (spectral ratio), and MTF10/30/50 crossings.

Frequencies are in cycles/mm on the sensor (the paper's unit, appendix A.6), converted from
cycles/pixel with the pixel pitch. H = frequency along x (columns), V = along y (rows). Images
given to the instruments are *linear* luminance (callers undo the colour chain first).
:mod:`engine.instruments` runs them through whole pipelines.
"""

from __future__ import annotations

import math

import numpy as np


def grating_contrast(luminance: np.ndarray, freq_cyc_per_mm: float, pitch_um: float, orientation: str) -> float:
    """Michelson contrast (amplitude / mean) of a sinusoid of known frequency in a linear image.

    The image is averaged across the grating lines into one profile, then ``c0 + a cos + b sin`` at
    the known frequency is fitted by least squares (lock-in), so noise and aliasing at other
    frequencies do not bias the amplitude.
    """
    if orientation not in ("h", "v"):
        raise ValueError(f"orientation must be 'h' (frequency along x) or 'v' (along y), got {orientation!r}")
    profile = luminance.mean(axis=0) if orientation == "h" else luminance.mean(axis=1)
    x_mm = np.arange(profile.size) * pitch_um * 1e-3
    phase = 2 * np.pi * freq_cyc_per_mm * x_mm
    design = np.stack([np.ones_like(x_mm), np.cos(phase), np.sin(phase)], axis=1)
    (c0, a, b), *_ = np.linalg.lstsq(design, profile.astype(np.float64), rcond=None)
    if c0 <= 0:
        raise ValueError("grating mean must be positive to measure contrast")
    return float(np.hypot(a, b) / c0)


MTF_LEVELS = (0.1, 0.3, 0.5)
"""The MTF levels reported (MTF10, MTF30, MTF50)."""


def mtf_crossing(freq_cyc_per_mm: np.ndarray, mtf: np.ndarray, level: float) -> float:
    """First frequency where the MTF falls through ``level`` (linear interpolation), cycles/mm; NaN if
    it never does within the curve."""
    freq, mtf = np.asarray(freq_cyc_per_mm, dtype=float), np.asarray(mtf, dtype=float)
    below = np.nonzero(mtf < level)[0]
    if below.size == 0:
        return float("nan")
    k = below[0]
    if k == 0:
        return float(freq[0])
    f0, f1, m0, m1 = freq[k - 1], freq[k], mtf[k - 1], mtf[k]
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


def mtf50(freq_cyc_per_mm: np.ndarray, mtf: np.ndarray) -> float:
    """First frequency where the MTF falls through 0.5 (linear interpolation), cycles/mm; NaN if it never does."""
    return mtf_crossing(freq_cyc_per_mm, mtf, 0.5)


def slanted_edge_sfr(
    edge: np.ndarray, pitch_um: float, drift_px_per_row: float, oversampling: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """ISO 12233-style SFR of a near-vertical slanted edge of known slant in a linear image.

    drift_px_per_row: the columns the edge moves right per row down (the chart's own slant,
    :func:`engine.scenes.slanted_edge_drift`). After sfrmat, with the chart's slant in place of a
    line fitted to the image (a simulator knows its chart; a fitted line is tilted by noise, at 10 dB
    SNR by up to 9 px over a 112-px crop, docs/design.md): every pixel's distance across the edge,
    binned at 1/``oversampling`` pixel into an edge spread function, derivative, Hamming window
    around the line spread's peak, FFT, frequencies across the edge (ISO 12233:2017). Returns
    (frequency cycles/mm up to the pixel Nyquist, SFR normalised to 1 at zero frequency).
    """
    rows, cols = edge.shape
    if abs(drift_px_per_row) * rows < 1.0:
        raise ValueError(f"edge is not slanted: it must drift at least 1 px over the {rows} rows (a few degrees "
                         f"off vertical, e.g. 5 deg), got {abs(drift_px_per_row) * rows:.2f} px")
    yy, xx = np.mgrid[0:rows, 0:cols]
    bins = np.round((xx - drift_px_per_row * yy) * oversampling).astype(int)
    bins -= bins.min()
    counts = np.bincount(bins.ravel())
    esf = np.bincount(bins.ravel(), edge.ravel().astype(np.float64)) / np.maximum(counts, 1)
    # Only the distances every row reaches: the corners of the crop give the ends of the ESF a few
    # pixels each, whose noise would otherwise pass for the edge.
    full = np.nonzero(counts >= 0.5 * np.median(counts[counts > 0]))[0]
    esf, counts = esf[full[0] : full[-1] + 1], counts[full[0] : full[-1] + 1]
    valid = counts > 0
    esf = np.interp(np.arange(esf.size), np.nonzero(valid)[0], esf[valid])
    lsf = np.gradient(esf)
    # The peak of the line spread averaged over one pixel, so a noise spike in one bin is not taken for it.
    peak = int(np.argmax(np.abs(np.convolve(lsf, np.ones(oversampling) / oversampling, mode="same"))))
    half = min(peak, lsf.size - 1 - peak)
    lsf = lsf[peak - half : peak + half + 1] * np.hamming(2 * half + 1)
    sfr = np.abs(np.fft.rfft(lsf))
    sfr /= sfr[0]
    # Bins are 1/oversampling px along a row, cos(slant) of that across the edge (sfrmat3's delfac).
    freq_cyc_per_px = np.fft.rfftfreq(lsf.size, math.cos(math.atan(drift_px_per_row)) / oversampling)
    keep = freq_cyc_per_px <= 0.5
    return freq_cyc_per_px[keep] * 1e3 / pitch_um, sfr[keep]


def _windowed_power(images: np.ndarray) -> np.ndarray:
    """Power spectrum |FFT|^2 of each mean-removed, 2D-Hann-windowed image (..., H, W), averaged over
    the leading axes."""
    images = np.asarray(images, dtype=np.float64)
    rows, cols = images.shape[-2:]
    window = np.outer(np.hanning(rows), np.hanning(cols))
    centred = images - images.mean(axis=(-2, -1), keepdims=True)
    power = np.abs(np.fft.fft2(centred * window)) ** 2
    return power.reshape(-1, rows, cols).mean(axis=0)


def texture_mtf(
    output: np.ndarray, reference: np.ndarray, flat: np.ndarray, pitch_um: float, *,
    reference_box_px: float = 0.0, bins: int = 32, half_angle_deg: float = 22.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dead-leaves texture MTF, H and V, by the spectral ratio of IEEE 1858 / CPIQ texture acutance.

    ``MTF(f) = sqrt((P_out(f) - P_flat(f)) / P_ref(f))``: P is the power spectrum of the mean-removed,
    Hann-windowed linear luminance, summed over the 2D frequencies of each radial bin that lie within
    ``half_angle_deg`` of the x axis (H) or the y axis (V). output: the captured texture; reference:
    the ideal image of the same chart on the same pixel grid; flat: a uniform patch captured the same
    way, whose power is the noise's (removed from the output's). Each may be a stack (..., H, W) of
    realisations, whose powers are averaged. reference_box_px: width (pixels) of a box the reference
    was filtered with (the pixel aperture of a ground truth); its sinc is divided out of the reference,
    so the MTF includes that aperture as the grating MTF does. Bins cover (0, Nyquist] cycles/pixel;
    those within the window's main lobe of zero (2 / size) are left out. Returns (bin centres
    cycles/mm, mtf_h, mtf_v).
    """
    shape = np.shape(output)[-2:]
    if np.shape(reference)[-2:] != shape or np.shape(flat)[-2:] != shape:
        raise ValueError(f"output, reference and flat must have the same image size, got {np.shape(output)}, "
                         f"{np.shape(reference)} and {np.shape(flat)}")
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    box = np.sinc(fx * reference_box_px) * np.sinc(fy * reference_box_px)
    signal = _windowed_power(output) - _windowed_power(flat)
    chart = _windowed_power(reference) / np.maximum(box**2, 1e-12)
    radius = np.hypot(fx, fy)
    edges = np.linspace(0.0, 0.5, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    keep = edges[:-1] >= 2.0 / min(shape)
    which = np.digitize(radius, edges) - 1
    slope = np.tan(np.radians(half_angle_deg))
    curves = []
    for along, across in ((fx, fy), (fy, fx)):
        sector = (np.abs(across) <= slope * np.abs(along)) & (radius <= 0.5)
        index = np.where(sector, which, bins)
        sums = [np.bincount(index.ravel(), (p * sector).ravel(), minlength=bins + 1)[:bins] for p in (signal, chart)]
        ratio = sums[0] / np.where(sums[1] > 0, sums[1], np.nan)
        curves.append(np.sqrt(np.clip(ratio, 0.0, None))[keep])
    return centres[keep] * 1e3 / pitch_um, curves[0], curves[1]


def _radial_frequency_cyc_per_mm(shape: tuple[int, int], pitch_um: float) -> np.ndarray:
    """|f| of every FFT bin of an image of ``shape`` sampled at ``pitch_um``, cycles/mm."""
    fy = np.fft.fftfreq(shape[0], d=pitch_um / 1000.0)
    fx = np.fft.fftfreq(shape[1], d=pitch_um / 1000.0)
    return np.hypot(fy[:, None], fx[None, :])


def energy_above(luminance: np.ndarray, pitch_um: float, freq_cyc_per_mm: float) -> float:
    """Fraction of the (mean-removed, Hann-windowed) spectral energy of ``luminance`` (H, W) at radial
    frequencies above ``freq_cyc_per_mm`` (e.g. the lens cutoff: detail no pipeline can restore)."""
    power = _windowed_power(luminance)
    above = _radial_frequency_cyc_per_mm(power.shape, pitch_um) > freq_cyc_per_mm
    total = power.sum()
    return float(power[above].sum() / total) if total > 0 else 0.0


def ideal_lowpass(image: np.ndarray, pitch_um: float, freq_cyc_per_mm: float) -> np.ndarray:
    """``image`` (H, W[, C]) with every radial frequency above ``freq_cyc_per_mm`` removed (an ideal
    circular low-pass; mirror-padded so the image borders add no leakage)."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, h), (0, w)) + ((0, 0),) * (image.ndim - 2), mode="symmetric")
    keep = _radial_frequency_cyc_per_mm(padded.shape[:2], pitch_um) <= freq_cyc_per_mm
    if image.ndim == 3:
        keep = keep[..., None]
    spectrum = np.fft.fft2(padded, axes=(0, 1)) * keep
    return np.real(np.fft.ifft2(spectrum, axes=(0, 1)))[:h, :w].astype(np.float32)
