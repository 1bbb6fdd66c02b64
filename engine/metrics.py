"""Measuring instruments: MTF by sinusoidal gratings (lock-in), ISO 12233 slanted-edge SFR, MTF50.

Frequencies are in cycles/mm on the sensor (the paper's unit, appendix A.6), converted from
cycles/pixel with the pixel pitch. H = frequency along x (columns), V = along y (rows). Images
given to the instruments are *linear* luminance (callers undo the colour chain first).
"""

from __future__ import annotations

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


def mtf50(freq_cyc_per_mm: np.ndarray, mtf: np.ndarray) -> float:
    """First frequency where the MTF falls through 0.5 (linear interpolation), cycles/mm; NaN if it never does."""
    freq, mtf = np.asarray(freq_cyc_per_mm, dtype=float), np.asarray(mtf, dtype=float)
    below = np.nonzero(mtf < 0.5)[0]
    if below.size == 0:
        return float("nan")
    k = below[0]
    if k == 0:
        return float(freq[0])
    f0, f1, m0, m1 = freq[k - 1], freq[k], mtf[k - 1], mtf[k]
    return float(f0 + (m0 - 0.5) * (f1 - f0) / (m0 - m1))


def slanted_edge_sfr(
    edge: np.ndarray, pitch_um: float, oversampling: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """ISO 12233-style SFR of a near-vertical slanted edge in a linear image.

    Steps (after sfrmat): per-row edge centroid of the row derivative near its peak, straight-line fit, projection
    of every pixel onto its distance from the edge, binning at 1/``oversampling`` pixel into an
    edge spread function, derivative, Hamming window, FFT. Returns (frequency cycles/mm up to the
    pixel Nyquist, SFR normalised to 1 at zero frequency).
    """
    rows, cols = edge.shape
    deriv = np.abs(np.diff(edge.astype(np.float64), axis=1))
    # Centroid of each row's derivative within +-window px of its peak, so noise far from the edge
    # does not pull the estimate toward the row centre.
    window = 8
    columns = np.arange(cols - 1) + 0.5
    near = np.abs(columns[None, :] - columns[np.argmax(deriv, axis=1)][:, None]) <= window
    weight = deriv * near
    centre = (weight * columns).sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-12)
    slope, intercept = np.polyfit(np.arange(rows), centre, 1)
    if abs(slope) < 1e-3:
        raise ValueError("edge is not slanted: its angle must be a few degrees off vertical (e.g. 5 deg)")
    yy, xx = np.mgrid[0:rows, 0:cols]
    distance = (xx - (slope * yy + intercept)) * oversampling
    bins = np.round(distance).astype(int)
    bins -= bins.min()
    counts = np.bincount(bins.ravel())
    esf = np.bincount(bins.ravel(), edge.ravel().astype(np.float64)) / np.maximum(counts, 1)
    valid = counts > 0
    esf = np.interp(np.arange(esf.size), np.nonzero(valid)[0], esf[valid])
    lsf = np.gradient(esf)
    peak = int(np.argmax(np.abs(lsf)))
    half = min(peak, lsf.size - 1 - peak)
    lsf = lsf[peak - half : peak + half + 1] * np.hamming(2 * half + 1)
    sfr = np.abs(np.fft.rfft(lsf))
    sfr /= sfr[0]
    freq_cyc_per_px = np.fft.rfftfreq(lsf.size, 1.0 / oversampling)
    keep = freq_cyc_per_px <= 0.5
    return freq_cyc_per_px[keep] * 1e3 / pitch_um, sfr[keep]
