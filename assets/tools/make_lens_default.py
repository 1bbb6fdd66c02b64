"""Writes assets/lens_default.json: the default proxy telephoto wavefront.

The wavefront is described the way a lens designer reads it, as Seidel-like power terms over the
reference pupil (F/1.4, rho = 1 at its rim, peak amplitudes in waves at 550 nm, paraxial focus):

    W = D rho^2                                         focus setting (D < 0 balances spherical)
      + S1 rho^4 + S2 rho^6 + S3 rho^8                 spherical, primary to tertiary
      + (A rho^2 + A2 rho^4) cos 2(theta - A_angle)     astigmatism, primary and secondary (A_angle rad)
      + (C rho^3 + C2 rho^5) cos(theta - 1.0)           coma (decentred folded optics)
      + T rho^3 cos 3(theta - 0.2)                      trefoil (mount stress)

and projected onto Noll Zernike terms 4..37 (terms under 0.002 waves dropped). Because every term
grows as a power of rho >= 2, the working pupil of F/3.55 (40 % of the reference radius) sees an
almost diffraction-limited wavefront, while F/1.66 sees the aberrated rim: RMS 0.02 -> 0.12 waves.

Run from the project root: ``python assets/tools/make_lens_default.py``.
"""

import json
from pathlib import Path

import numpy as np

from engine.zernike import NOLL_MAX, zernike_noll

SEIDEL_WAVES = {"D": 0.0, "S1": 0.55, "S2": 0.25, "S3": 0.10, "A": 0.10, "A2": 0.08, "A_angle": 0.3, "C": 0.10, "C2": 0.06, "T": 0.08}
OCL_WAVES = {"tilt_waves": 0.02, "coma_waves": 0.03}


def seidel_wavefront(rho: np.ndarray, theta: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Wavefront in waves at 550 nm of the power-series description above."""
    astig = np.cos(2 * (theta - p["A_angle"]))
    coma = np.cos(theta - 1.0)
    return (
        p.get("D", 0.0) * rho**2
        + p["S1"] * rho**4 + p["S2"] * rho**6 + p["S3"] * rho**8
        + (p["A"] * rho**2 + p["A2"] * rho**4) * astig
        + (p["C"] * rho**3 + p["C2"] * rho**5) * coma
        + p["T"] * rho**3 * np.cos(3 * (theta - 0.2))
    )


def project_on_zernike(p: dict[str, float]) -> dict[int, float]:
    """Noll coefficients (waves) of the wavefront by exact disk quadrature (Gauss-Legendre x uniform)."""
    x, w = np.polynomial.legendre.leggauss(40)
    rho = 0.5 * (x + 1)
    theta = np.arange(80) * 2 * np.pi / 80
    rr, tt = np.meshgrid(rho, theta, indexing="ij")
    weights = np.outer(0.5 * w * rho, np.full(theta.size, 2 * np.pi / theta.size)) / np.pi
    wavefront = seidel_wavefront(rr, tt, p)
    coeffs = {j: float(np.sum(wavefront * zernike_noll(j, rr, tt) * weights)) for j in range(4, NOLL_MAX + 1)}
    return {j: round(c, 4) for j, c in coeffs.items() if abs(c) >= 0.002}


def write_lens(seidel_waves: dict[str, float], about_calibration: str = "") -> Path:
    """Write assets/lens_default.json for ``seidel_waves``; returns its path."""
    out = Path(__file__).resolve().parents[1] / "lens_default.json"
    doc = {
        "_about": (
            "Default proxy telephoto wavefront written by assets/tools/make_lens_default.py from a Seidel-like"
            " power-series description (see seidel_waves). Zernike coefficients are Noll-indexed, RMS-normalised,"
            " in waves at 550 nm over the reference pupil of F/f_number_ref; a slower F# sees the centred disk of"
            " relative radius f_number_ref / F#, so aberrations grow strongly as the aperture opens from F/3.55"
            " to F/1.66. " + (about_calibration or "A proxy, not yet calibrated against the paper's Table 2.")
        ),
        "f_number_ref": 1.4,
        "seidel_waves": seidel_waves,
        "zernike_waves_550nm": {str(j): c for j, c in project_on_zernike(seidel_waves).items()},
        "ocl": {
            "_about": "2x2 on-chip-lens phases: each adds tilt (Z2/Z3) and coma (Z8/Z7) of these RMS amplitudes,"
            " waves at 550 nm over the reference pupil, pointing toward its sub-pixel.",
            **OCL_WAVES,
        },
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return out


if __name__ == "__main__":
    write_lens(SEIDEL_WAVES)
