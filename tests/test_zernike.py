import numpy as np
import pytest

from engine.zernike import NOLL_MAX, noll_to_nm, zernike_noll

NOLL_TRUTH = {  # Noll (1976) table 1
    1: (0, 0), 2: (1, 1), 3: (1, -1), 4: (2, 0), 5: (2, -2), 6: (2, 2), 7: (3, -1), 8: (3, 1),
    9: (3, -3), 10: (3, 3), 11: (4, 0), 12: (4, 2), 13: (4, -2), 14: (4, 4), 15: (4, -4),
    16: (5, 1), 17: (5, -1), 18: (5, 3), 19: (5, -3), 20: (5, 5), 21: (5, -5), 22: (6, 0), 37: (8, 0),
}


@pytest.mark.parametrize("j,nm", sorted(NOLL_TRUTH.items()))
def test_noll_index_table(j, nm):
    assert noll_to_nm(j) == nm


def test_noll_index_rejects_zero():
    with pytest.raises(ValueError, match="Noll index"):
        noll_to_nm(0)


def _disk_quadrature(n_r=40, n_theta=80):
    """Gauss-Legendre in rho (weight rho) x uniform theta: exact for polynomials of degree < 2 n_r."""
    x, w = np.polynomial.legendre.leggauss(n_r)
    rho = 0.5 * (x + 1.0)
    w_rho = 0.5 * w * rho
    theta = np.arange(n_theta) * 2 * np.pi / n_theta
    rr, tt = np.meshgrid(rho, theta, indexing="ij")
    weights = np.outer(w_rho, np.full(n_theta, 2 * np.pi / n_theta)) / np.pi  # mean over disk
    return rr, tt, weights


def test_zernike_orthonormal_on_disk():
    rr, tt, weights = _disk_quadrature()
    basis = np.stack([zernike_noll(j, rr, tt) for j in range(1, NOLL_MAX + 1)])
    gram = np.einsum("aij,bij,ij->ab", basis, basis, weights)
    np.testing.assert_allclose(gram, np.eye(NOLL_MAX), atol=1e-10)


def test_even_noll_is_cosine_term():
    # Z2 is x tilt: 2 rho cos(theta); Z3 is y tilt.
    assert zernike_noll(2, np.array(1.0), np.array(0.0)) == pytest.approx(2.0)
    assert zernike_noll(3, np.array(1.0), np.array(np.pi / 2)) == pytest.approx(2.0)
