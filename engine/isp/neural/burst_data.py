"""Training batches for the multi-frame Neural ISP (:class:`engine.isp.neural.model.MultiFrameISP`).

The burst cache is a per-design training cache (:func:`engine.isp.neural.data.build_cache`) with
``CacheSpec.frames`` = K clean frames per capture, each with the sensor model's hand-shake
(``shifts``, pixels, frame 0 at zero) and the ground truth of frame 0. A batch takes the first k
frames of each capture (k drawn per batch: 1 with probability ``P_SINGLE``, K with ``P_FULL``,
else uniform in 2..K-1, so one net serves single frames and bursts of any length), crops them at
one offset (multiples of the CFA period), applies one exposure gain per capture and fresh,
independent shot noise per frame at an SNR drawn per capture.

The network is told each frame's shift onto frame 0 as the burst aligner would estimate it at run
time (``engine.isp.traditional.phase_correlation_shift``: minus the hand-shake, with an error). The
aligner's error at 15 dB on 256-512 px photos is 0.05-0.3 px RMS (0.6 px on near-flat views), so
training draws the error as Gaussian with an RMS log-uniform in ``SHIFT_ERROR_PX`` per capture:
the net learns to fuse frames whose alignment is good but not exact.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.isp.neural.data import CropSampler, add_noise_torch

P_SINGLE = 0.2
P_FULL = 0.4
SHIFT_ERROR_PX = (0.02, 0.3)
"""Range (log-uniform, RMS per axis, pixels) of the alignment error simulated in training."""


def frames_drawn(k_max: int, u: float) -> int:
    """Burst length for a uniform draw ``u`` in [0, 1): 1 (P_SINGLE), k_max (P_FULL), else 2..k_max-1."""
    if u < P_SINGLE or k_max == 1:
        return 1
    if u < P_SINGLE + P_FULL or k_max == 2:
        return k_max
    return 2 + int((u - P_SINGLE - P_FULL) / (1 - P_SINGLE - P_FULL) * (k_max - 2))


class BurstSampler(CropSampler):
    """Random burst batches from a burst cache: ``sample()`` returns (raw (B, k, c, c), sigma
    (B, k, c, c), shift_px (B, k, 2), gt (B, 3, c, c)) float32 tensors."""

    def __init__(self, cache: dict, crop: int, batch: int, *, snr_range_db=(12.0, 24.0), gain_range=(0.6, 1.25),
                 seed: int = 0):
        if cache["raw"].ndim != 4:
            raise ValueError("a burst cache holds (N, K, S, S) mosaics; this one holds single frames")
        super().__init__([cache], crop, batch, snr_range_db=snr_range_db, gain_range=gain_range, seed=seed)
        self.shifts = torch.from_numpy(cache["shifts"]).float()

    def sample(self):
        g = self.gen
        k = frames_drawn(self.raw.shape[1], float(torch.rand(1, generator=g)))
        idx, noisy, sigma, gt = self.draw(k)
        err_rms = torch.exp(torch.empty(self.batch, 1, 1).uniform_(*np.log(SHIFT_ERROR_PX), generator=g))
        shift = -self.shifts[idx, :k] + err_rms * torch.randn(self.batch, k, 2, generator=g)
        shift[:, 0] = 0.0  # the reference frame is not moved
        return noisy, sigma, shift, gt
