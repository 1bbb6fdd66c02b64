"""Writes assets/sensor_rgb_sensitivity.csv: the default smartphone CMOS RGB spectral sensitivity.

The curve is a parametric model, not a measurement: colour-filter transmittances (Gaussian blue and
green, logistic red edge) times a back-side-illuminated silicon quantum efficiency times an
absorptive IR-cut filter (half power at 650 nm) and a UV edge. Peak positions, widths and the IR-cut
edge follow the shape of published smartphone camera sensitivities (Tominaga et al., "Spectral
sensitivity database of smartphone cameras", J. Imaging 2021; Jiang et al., WACV 2013), which
place blue near 450-460 nm, green near 530-540 nm and a red channel clipped by the IR cut at
600-650 nm.

Run from the project root: ``python assets/tools/make_sensor_rgb_sensitivity.py``.
"""

from pathlib import Path

import numpy as np

WAVELENGTHS_NM = np.arange(400.0, 701.0, 5.0)


def _gauss(wl_nm, centre_nm, sigma_nm):
    return np.exp(-0.5 * ((wl_nm - centre_nm) / sigma_nm) ** 2)


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def sensitivities(wl_nm: np.ndarray) -> np.ndarray:
    """(3, W) relative sensitivity (R, G, B), peak of G = 1."""
    silicon_qe = 0.80 * np.exp(-(((wl_nm - 545.0) / 230.0) ** 2))
    ir_cut = _logistic((650.0 - wl_nm) / 7.0)
    uv_cut = _logistic((wl_nm - 405.0) / 5.0)
    leak = 0.03
    red = leak + 0.92 * _logistic((wl_nm - 588.0) / 11.0)
    green = leak + 0.90 * _gauss(wl_nm, 535.0, 34.0)
    blue = leak + 0.90 * _gauss(wl_nm, 456.0, 29.0)
    rgb = np.stack([red, green, blue]) * silicon_qe * ir_cut * uv_cut
    return rgb / rgb[1].max()


def main() -> None:
    rgb = sensitivities(WAVELENGTHS_NM)
    header = (
        "Default smartphone CMOS RGB spectral sensitivity (relative, green peak = 1), IR-cut included.\n"
        "Parametric model written by assets/tools/make_sensor_rgb_sensitivity.py: colour filters x BSI silicon QE\n"
        "x IR cut (50 % at 650 nm) x UV edge; shape after published smartphone sensitivities\n"
        "(Tominaga et al., J. Imaging 2021; Jiang et al., WACV 2013). Not a measurement of one sensor.\n"
        "wavelength_nm,red,green,blue"
    )
    table = np.column_stack([WAVELENGTHS_NM, rgb.T])
    out = Path(__file__).resolve().parents[1] / "sensor_rgb_sensitivity.csv"
    np.savetxt(out, table, delimiter=",", fmt=["%.0f", "%.5f", "%.5f", "%.5f"], header=header)


if __name__ == "__main__":
    main()
