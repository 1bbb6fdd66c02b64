"""Wavelength grid, sensor RGB spectral sensitivity, illuminant and the camera RGB they define.

All wavelengths are in nanometres. "Camera RGB" is the linear response of the three sensor channels
(sensitivity x illuminant x reflectance, summed over the 51 simulation wavelengths), scaled so that
a perfect white diffuser gives green = 1; it is *not* white balanced (the ISP colour chain does that).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message='"Matplotlib" related API features are not available')
import colour  # noqa: E402  (after the filter: the engine does not plot with matplotlib)

WAVELENGTHS_NM = np.linspace(420.0, 680.0, 51)
"""The 51 simulation wavelengths, 420-680 nm in 5.2 nm steps (paper, appendix A.1)."""

REFERENCE_WAVELENGTH_NM = 550.0
"""Wavelength at which Zernike coefficients are given in waves."""

SENSITIVITY_CSV = Path(__file__).resolve().parents[1] / "assets" / "sensor_rgb_sensitivity.csv"
CHANNELS = ("R", "G", "B")


@lru_cache(maxsize=4)
def _sensitivity_table(path: Path = SENSITIVITY_CSV) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", comments="#")


def sensor_sensitivity(wavelengths_nm: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """(3, W) relative spectral sensitivity of the R, G, B channels at ``wavelengths_nm``."""
    table = _sensitivity_table()
    return np.stack([np.interp(wavelengths_nm, table[:, 0], table[:, c + 1]) for c in range(3)])


def illuminant_spd(name: str = "D65", wavelengths_nm: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """(W,) relative spectral power of a CIE illuminant from colour-science, max-normalised."""
    try:
        sd = colour.SDS_ILLUMINANTS[name]
    except KeyError:
        raise ValueError(f"illuminant must be one of D50, D65, A, ...; got {name!r}") from None
    spd = np.interp(wavelengths_nm, sd.wavelengths, sd.values)
    return spd / spd.max()


def channel_weights(wavelengths_nm: np.ndarray = WAVELENGTHS_NM, illuminant: str = "D65") -> np.ndarray:
    """(3, W) spectral weights sensitivity x illuminant; each channel's row sums to 1."""
    weights = sensor_sensitivity(wavelengths_nm) * illuminant_spd(illuminant, wavelengths_nm)
    return weights / weights.sum(axis=1, keepdims=True)


def camera_rgb_from_reflectance(
    reflectance: np.ndarray, illuminant: str = "D65", wavelengths_nm: np.ndarray = WAVELENGTHS_NM
) -> np.ndarray:
    """Camera RGB (..., 3) of reflectance spectra (..., W) sampled at ``wavelengths_nm``."""
    weights = sensor_sensitivity(wavelengths_nm) * illuminant_spd(illuminant, wavelengths_nm)
    white_green = weights[1].sum()
    return np.asarray(reflectance) @ weights.T / white_green


@lru_cache(maxsize=4)
def colorchecker_reflectances(wavelengths_nm: tuple[float, ...] = tuple(WAVELENGTHS_NM)) -> np.ndarray:
    """(24, W) reflectances of the X-Rite ColorChecker (colour-science 'ColorChecker N Ohta')."""
    patches = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    return np.stack([np.interp(wavelengths_nm, sd.wavelengths, sd.values) for sd in patches.values()])


@lru_cache(maxsize=4)
def colorchecker_linear_srgb(illuminant: str = "D65") -> np.ndarray:
    """(24, 3) linear sRGB of the ColorChecker patches under ``illuminant`` (CIE 1931 2 deg, white Y = 1)."""
    wl = np.arange(380.0, 781.0, 5.0)
    cmfs_sd = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    cmfs = np.stack([np.interp(wl, cmfs_sd.wavelengths, cmfs_sd.values[:, k]) for k in range(3)], axis=1)
    light_sd = colour.SDS_ILLUMINANTS[illuminant]
    light = np.interp(wl, light_sd.wavelengths, light_sd.values)
    patches = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    reflectance = np.stack([np.interp(wl, sd.wavelengths, sd.values) for sd in patches.values()])
    xyz = (reflectance * light) @ cmfs / (light @ cmfs[:, 1])
    return xyz @ colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB.T


@lru_cache(maxsize=4)
def linear_srgb_to_camera_matrix(illuminant: str = "D65") -> np.ndarray:
    """3x3 M with camera_rgb ~= M @ linear_srgb, least squares over the 24 ColorChecker patches."""
    camera = camera_rgb_from_reflectance(colorchecker_reflectances(), illuminant)
    srgb = colorchecker_linear_srgb(illuminant)
    solution, *_ = np.linalg.lstsq(srgb, camera, rcond=None)
    return solution.T


def linear_srgb_to_camera(image: np.ndarray, illuminant: str = "D65") -> np.ndarray:
    """Linear sRGB image (..., 3) to linear camera RGB (..., 3), float32."""
    matrix = linear_srgb_to_camera_matrix(illuminant).astype(np.float32)
    return np.asarray(image, dtype=np.float32) @ matrix.T
