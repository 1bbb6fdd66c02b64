"""Noll-indexed, RMS-normalised Zernike polynomials on the unit disk.

Conventions (Noll 1976, J. Opt. Soc. Am. 66, 207):

* ``j = 1, 2, 3, ...`` maps to radial order ``n`` and signed azimuthal order ``m``; for ``m != 0``
  an even ``j`` is the cosine term (``m > 0``) and an odd ``j`` the sine term (``m < 0``).
* Each polynomial has unit RMS over the unit disk (``<Z_j Z_k> = delta_jk``), so a coefficient is
  the RMS wavefront error it contributes, here in waves at 550 nm.
* ``rho`` is the radius normalised to the pupil edge (0..1), ``theta`` the angle from +x, radians.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np

NOLL_MAX = 37
"""Highest Noll index the engine accepts (n = 8, primary to tertiary spherical)."""


@lru_cache(maxsize=None)
def noll_to_nm(j: int) -> tuple[int, int]:
    """Radial order ``n`` and signed azimuthal order ``m`` of Noll index ``j`` (1-based)."""
    if j < 1:
        raise ValueError(f"Noll index must be >= 1, got {j}")
    count = 1
    n = 0
    while True:
        for m_abs in range(n % 2, n + 1, 2):
            if m_abs == 0:
                if count == j:
                    return n, 0
                count += 1
            else:
                for candidate in (count, count + 1):
                    if candidate == j:
                        return n, m_abs if candidate % 2 == 0 else -m_abs
                count += 2
        n += 1


def radial_polynomial(n: int, m_abs: int, rho: np.ndarray) -> np.ndarray:
    """Zernike radial polynomial ``R_n^|m|(rho)``, unnormalised (``R(1) = 1``)."""
    out = np.zeros_like(rho)
    for k in range((n - m_abs) // 2 + 1):
        coef = (-1) ** k * factorial(n - k) / (
            factorial(k) * factorial((n + m_abs) // 2 - k) * factorial((n - m_abs) // 2 - k)
        )
        out += coef * rho ** (n - 2 * k)
    return out


def zernike_nm(n: int, m: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Unit-RMS Zernike polynomial of radial order ``n``, signed azimuthal order ``m``."""
    radial = radial_polynomial(n, abs(m), rho)
    if m == 0:
        return np.sqrt(n + 1.0) * radial
    norm = np.sqrt(2.0 * (n + 1))
    return norm * radial * (np.cos(m * theta) if m > 0 else np.sin(-m * theta))


def zernike_noll(j: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Unit-RMS Zernike polynomial of Noll index ``j``."""
    n, m = noll_to_nm(j)
    return zernike_nm(n, m, rho, theta)


def wavefront_waves(coefficients: dict[int, float], rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Wavefront ``sum_j c_j Z_j(rho, theta)``; coefficients and result in waves (any one wavelength)."""
    out = np.zeros(np.broadcast(rho, theta).shape, dtype=np.float64)
    for j, c in coefficients.items():
        if c != 0.0:
            out += c * zernike_noll(j, rho, theta)
    return out
