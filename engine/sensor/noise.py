"""Flux and noise: effective SNR of a design, conversion gain, noise sigma, noisy signals.

Reference signal ``REFERENCE_SIGNAL = 1.0`` (a perfect white diffuser in camera RGB green).
Shot-noise law: ``var(s) = max(s, 0) * REFERENCE_SIGNAL / SNR^2 (+ read noise)`` with
``SNR = 10^(snr_db / 20)``: a conversion gain of ``SNR^2 / REFERENCE_SIGNAL`` electrons per signal
unit. Flux (:func:`effective_snr_db`): ``hold`` keeps ``snr_db`` per pixel; ``physical`` adds
``20 log10((pitch_um / 0.75) * (3.55 / f_number))`` dB (photons per pixel ~ pitch^2 / F#^2, relative
to 0.75 um at F/3.55). All signals and sigmas are in scene units (linear camera RGB).
"""

from __future__ import annotations

import numpy as np

from engine.design import DesignPoint
from engine.validation import check_choice, check_finite, check_instance, check_nonnegative, coerce_rng

__all__ = [
    "FLUX_REFERENCE_F_NUMBER",
    "FLUX_REFERENCE_PITCH_UM",
    "NOISE_MODELS",
    "REFERENCE_SIGNAL",
    "add_noise",
    "effective_snr_db",
    "electrons_per_signal",
    "light_per_pixel",
    "noise_sigma_at_white",
    "noise_sigma_map",
    "shot_noise_snr_db",
]

REFERENCE_SIGNAL = 1.0
"""Signal level (scene units, linear camera RGB; 1.0 = perfect white diffuser in green) at which the
shot-noise SNR equals the design's ``snr_db``."""
FLUX_REFERENCE_PITCH_UM = 0.75
FLUX_REFERENCE_F_NUMBER = 3.55
NOISE_MODELS = ("gaussian", "poisson_gaussian", "none")


def effective_snr_db(design: DesignPoint) -> float:
    """Per-pixel shot-noise SNR at ``REFERENCE_SIGNAL``, dB, after the design's flux mode.

    ``hold``: ``design.snr_db``. ``physical``: ``design.snr_db + 20 log10((pitch_um / 0.75) *
    (3.55 / f_number))`` (photons per pixel ~ pitch^2 / F#^2 relative to 0.75 um at F/3.55).
    """
    check_instance("design", design, DesignPoint)
    if design.flux == "hold":
        return float(design.snr_db)
    return float(design.snr_db + 20.0 * np.log10(_aperture_ratio(design.pitch_um, design.f_number)))


def _aperture_ratio(pitch_um, f_number):
    """(pitch / 0.75 um) (3.55 / F#): the square root of the light per pixel (NumPy broadcasting)."""
    return (np.asarray(pitch_um) / FLUX_REFERENCE_PITCH_UM) * (FLUX_REFERENCE_F_NUMBER / np.asarray(f_number))


def light_per_pixel(pitch_um, f_number):
    """Light per pixel relative to the flux reference (0.75 um at F/3.55): (pitch / 0.75)^2 (3.55 / F#)^2,
    the photons-per-pixel law of :func:`effective_snr_db` (NumPy broadcasting; pitch in um)."""
    return _aperture_ratio(pitch_um, f_number) ** 2


def shot_noise_snr_db(signal, snr_db: float):
    """Per-pixel shot-noise SNR, dB, at ``signal`` (scene units) when it is ``snr_db`` at
    ``REFERENCE_SIGNAL``: ``snr_db + 10 log10(signal / REFERENCE_SIGNAL)`` (shot noise: SNR^2 ~ signal)."""
    return snr_db + 10 * np.log10(np.asarray(signal) / REFERENCE_SIGNAL)


def electrons_per_signal(snr_db: float) -> float:
    """Conversion gain, electrons per signal unit, such that the shot-noise SNR at
    ``REFERENCE_SIGNAL`` is ``snr_db`` (``10^(snr_db / 10)`` electrons at the reference level)."""
    check_finite("snr_db", snr_db, "dB")
    return 10.0 ** (snr_db / 10.0) / REFERENCE_SIGNAL


def noise_sigma_at_white(snr_db: float) -> float:
    """Shot-noise standard deviation at ``REFERENCE_SIGNAL`` (a white pixel), signal units:
    ``REFERENCE_SIGNAL / SNR`` with ``SNR = 10^(snr_db / 20)`` (no read noise). snr_db: dB."""
    check_finite("snr_db", snr_db, "dB")
    return REFERENCE_SIGNAL * 10.0 ** (-snr_db / 20.0)


def noise_sigma_map(signal: np.ndarray, snr_db: float, *, read_noise_e: float = 0.0) -> np.ndarray:
    """Noise standard deviation per pixel, signal units, float32 of ``signal``'s shape.

    ``sigma = sqrt(max(signal, 0) * g + read_noise_e^2) / g`` with ``g = electrons_per_signal(snr_db)``;
    without read noise ``var = max(signal, 0) * REFERENCE_SIGNAL / SNR^2``.

    signal: clean (noise-free) signal, scene units. snr_db: SNR at ``REFERENCE_SIGNAL``, dB.
    read_noise_e: read noise, electrons RMS, >= 0.
    """
    check_nonnegative("read_noise_e", read_noise_e, "electrons")
    gain = electrons_per_signal(snr_db)
    electrons = np.maximum(signal, 0.0, dtype=np.float32) * np.float32(gain)
    return (np.sqrt(electrons + np.float32(read_noise_e) ** 2) / np.float32(gain)).astype(np.float32)


def add_noise(
    signal: np.ndarray,
    snr_db: float,
    *,
    model: str = "gaussian",
    read_noise_e: float = 0.0,
    rng: np.random.Generator | int,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy signal and the per-pixel noise sigma, both float32 of ``signal``'s shape, signal units.

    model: ``gaussian`` (Gaussian of the shot + read variance, default), ``poisson_gaussian``
    (Poisson electrons at ``electrons_per_signal(snr_db)`` per unit plus Gaussian read noise; the
    Poisson fluctuation is added to the clean signal, so the mean stays exact even where
    interpolation ringing makes the clean signal slightly negative), or ``none`` (sigma = 0).
    snr_db: SNR at ``REFERENCE_SIGNAL``, dB. read_noise_e: electrons RMS. rng: Generator or seed.
    Nothing is clipped: the result may be negative.
    """
    check_choice("noise model", model, NOISE_MODELS)
    rng = coerce_rng(rng)
    signal = np.asarray(signal, dtype=np.float32)
    if model == "none":
        return signal.copy(), np.zeros_like(signal)
    sigma = noise_sigma_map(signal, snr_db, read_noise_e=read_noise_e)
    if model == "gaussian":
        return signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32), sigma
    gain = electrons_per_signal(snr_db)
    mean_e = np.maximum(signal, 0.0).astype(np.float64) * gain
    shot_e = rng.poisson(mean_e) - mean_e
    read_e = read_noise_e * rng.standard_normal(signal.shape)
    return (signal + ((shot_e + read_e) / gain).astype(np.float32)), sigma
