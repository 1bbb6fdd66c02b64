"""Training-pair synthesis for the Neural ISP: a per-design cache of clean RAW / ground-truth captures.

Every pair comes from the forward model of the target design (engine.sensor: its PSFs with the four
OCL phases, its CFA, the pixel aperture) on scenes rendered with a margin that is cropped away
(whole CFA periods, so CFA and OCL phases stay aligned with the crop origin). The cache keeps the
*clean* mosaic (no noise); noise is drawn fresh at every training step (:func:`add_noise_torch`)
at an SNR drawn around the design's, with the exact sigma map of engine.sensor's Gaussian model, so
the network never sees the same noise twice.

Sources (disjoint from the test split by construction of assets/photo_sets.json):

* ``train`` photo split (28 photos), several random views each, one photo pixel on the sensor
  log-uniform in ``PHOTO_MAGNIFICATION`` = 0.5-1x the design's pitch, so that every view holds
  real detail up to the design's Nyquist frequency (issue #18 (c''): an enlarged photo is a
  smooth scene the finest pitches have nothing to resolve in; docs/design.md);
* the Latin + CJK text chart at random sizes and offsets, and charts that never match an MTF
  instrument at its measurement settings (:mod:`training_charts`): colour dead leaves, coloured
  sinusoidal gratings of random angle / phase / frequency / mean / contrast, slanted edges away from
  the e-SFR edge angle, Siemens stars.

Validation uses the ``validation`` split (7 photos) with fixed seeds and noise at the design's SNR.
Crops handed to the network start at multiples of ``CFA_PERIOD_PX`` = 8 pixels and are never flipped
or rotated (that would break the hex CFA and OCL geometry).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import scenes, sensor
from engine.design import DesignPoint
from engine.isp.neural import training_charts as charts
from engine.simulate import CFA_PERIOD_PX, SceneCapturer

CACHE_VERSION = 5
"""2: photos reconstructed linearly, more views; 3: instrument-free charts; 4: photos 0.5-1x pitch;
5: PSF window at least 6 lambda F# (optics.psf_window_px)."""
RANDOM_GRATING = "random_grating"
"""Source name of a training_charts.random_grating capture (coloured, any angle and phase)."""
PHOTO_MAGNIFICATION = (0.5, 1.0)
"""Range (log-uniform) of a training photo's pixel on the sensor over the design's pitch (cache
version 3 and the nets trained before 2026-12-01: 0.3-0.8 um whatever the pitch)."""
PHOTO_MAGNIFICATION_LIMITS = (0.1, 10.0)
"""Magnifications a cache may ask for (photo pixel over pitch): :func:`photo_magnification_spec`."""
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[3] / "out" / "neural_cache"
"""Where ``python -m engine train`` keeps per-design caches (out/ is git-ignored)."""


@dataclass(frozen=True)
class CacheSpec:
    """How many captures of each kind a design's training cache holds (size_px square each)."""

    size_px: int = 256
    photo_views: int = 6  # per train photo
    dead_leaves: int = 28
    text: int = 10
    gratings: int = 32
    edges: int = 4
    stars: int = 4
    val_views: int = 2  # per validation photo
    seed: int = 0
    frames: int = 1  # > 1: bursts with the sensor model's hand-shake (engine.isp.neural.burst_data)
    photo_magnification: tuple = PHOTO_MAGNIFICATION  # training photo pixel / design pitch (log-uniform)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def photo_magnification_spec(lo: float, hi: float) -> "CacheSpec":
    """The default cache spec with training photos at ``lo``-``hi`` pixel pitches per photo pixel;
    ValueError naming the allowed range when ``lo``, ``hi`` fall outside it or in the wrong order."""
    low, high = PHOTO_MAGNIFICATION_LIMITS
    if not (low <= lo <= hi <= high):
        raise ValueError(f"--photo-magnification needs {low:g} <= LO <= HI <= {high:g} (pixel pitches), got {lo:g} {hi:g}")
    return CacheSpec(photo_magnification=(lo, hi))


def _source_list(spec: CacheSpec, rng: np.random.Generator, photos: list[Path], pitch_um: float) -> list[tuple[str, dict]]:
    """(scene name or path, scene params) for every training capture (charts from training_charts)."""
    items: list[tuple[str, dict]] = []
    for path in photos:
        for _ in range(spec.photo_views):
            magnification = float(np.exp(rng.uniform(*np.log(spec.photo_magnification))))
            items.append((str(path), {"source_pixel_um": magnification * pitch_um}))
    items += [("dead_leaves", charts.dead_leaves_params(rng, pitch_um)) for _ in range(spec.dead_leaves)]
    for _ in range(spec.text):
        items.append(("text", {"text_height_um": float(rng.uniform(2.0, 9.0)),
                               "ink": float(rng.uniform(0.02, 0.2)), "paper": float(rng.uniform(0.5, 0.9))}))
    items += [(RANDOM_GRATING, {}) for _ in range(spec.gratings)]
    items += [("slanted_edge", charts.edge_params(rng)) for _ in range(spec.edges)]
    items += [("siemens_star", charts.star_params(rng)) for _ in range(spec.stars)]
    return items


class _Capturer(SceneCapturer):
    """Training captures through one design's sensor (``frames`` per capture: a burst with the
    sensor model's hand-shake when > 1): random photo views and grating settings."""

    def __init__(self, design: DesignPoint, size_px: int, psf_pixel=None, frames: int = 1):
        super().__init__(design, size_px, psf_pixel)
        self.frames = frames

    def __call__(self, name: str, params: dict, rng: np.random.Generator, *, noise: str = "none") -> sensor.RawCapture:
        d, params = self.design, dict(params)
        view_um = self.shape[0] * d.dx_um
        if name == RANDOM_GRATING:
            image = charts.random_grating(d.dx_um, self.shape, rng, 1000.0 / (2 * d.pitch_um))
            return self.capture(image, int(rng.integers(2**31)), frames=self.frames, noise=noise)
        if "source_pixel_um" in params:  # a photo: random view inside it
            sp = params["source_pixel_um"] = scenes.covering_source_pixel_um(name, view_um, params["source_pixel_um"])
            h_um, w_um = scenes.photo_extent_um(name, sp)
            free_x, free_y = max(w_um - view_um, 0) / 2, max(h_um - view_um, 0) / 2
            params["offset_um"] = (float(rng.uniform(-free_x, free_x)), float(rng.uniform(-free_y, free_y)))
        seed = int(rng.integers(2**31))
        return self.capture(self.render(name, seed, **params), seed, frames=self.frames, noise=noise)


def build_cache(design: DesignPoint, path: str | Path, spec: CacheSpec = CacheSpec(), *, psf_pixel=None,
                progress=None) -> Path:
    """Synthesise ``design``'s training/validation cache and write it to ``path`` (.npz).

    Arrays: ``raw`` (N, S, S) float16 clean mosaic, ``gt`` (N, S, S, 3) float16 linear camera RGB,
    ``val_raw``/``val_sigma`` (M, S, S) float16 noisy mosaic at the design's SNR and its sigma,
    ``val_gt`` (M, S, S, 3), ``cfa`` (S, S) uint8, plus ``meta_json`` (design hash, spec, sources).
    Bursts (``spec.frames`` = K > 1): mosaics (N, K, S, S), plus ``shifts`` / ``val_shifts`` (N, K, 2)
    the hand-shake of each frame in pixels (frame 0 at zero).
    progress: optional callable(done, total).
    """
    import json

    if spec.size_px % CFA_PERIOD_PX:
        raise ValueError(f"cache size_px must be a multiple of {CFA_PERIOD_PX}, got {spec.size_px}")
    capture = _Capturer(design, spec.size_px, psf_pixel, spec.frames)
    rng = np.random.default_rng(spec.seed)
    train_items = _source_list(spec, rng, scenes.photo_set("train") if spec.photo_views else [], design.pitch_um)
    val_items = [(str(p), {"source_pixel_um": 0.35}) for p in (scenes.photo_set("validation") if spec.val_views else [])
                 for _ in range(spec.val_views)]
    total, done = len(train_items) + len(val_items), 0
    t0 = time.time()

    def take(items, item_rng, noise):
        """Lists of raw, sigma (noisy captures only), ground truth (float16) and shifts of ``items``
        captured in turn."""
        nonlocal done
        raw, sigma, gt, shifts = [], [], [], []
        for name, params in items:
            cap = capture(name, params, item_rng, noise=noise)
            raw.append(cap.raw.astype(np.float16))
            if noise != "none":
                sigma.append(cap.noise_sigma.astype(np.float16))
            gt.append(cap.ground_truth.astype(np.float16))
            shifts.append(cap.shifts_px)
            done += 1
            if progress:
                progress(done, total)
        return raw, sigma, gt, shifts

    raws, _, gts, shifts = take(train_items, rng, "none")
    vraw, vsig, vgt, vshifts = take(val_items, np.random.default_rng(10_000 + spec.seed), "gaussian")
    cfa = sensor.cfa_pattern(design.cfa, (spec.size_px, spec.size_px))
    meta = {
        "version": CACHE_VERSION, "design_hash": design.design_hash(), "design": design.to_dict(),
        "spec": spec.to_dict(), "seconds": round(time.time() - t0, 1),
        "sources": {"train_photos": len(scenes.photo_set("train")) if spec.photo_views else 0,
                    "train_captures": len(train_items),
                    "validation_captures": len(val_items)},
        "kinds": sorted({n if "/" not in n else "photo" for n, _ in train_items}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    s = spec.size_px

    def stack(items, shape):
        return np.stack(items) if items else np.zeros((0, *shape), np.float16)

    frame = (s, s) if spec.frames == 1 else (spec.frames, s, s)
    bursts = {} if spec.frames == 1 else {"shifts": stack(shifts, (spec.frames, 2)), "val_shifts": stack(vshifts, (spec.frames, 2))}
    np.savez(tmp, raw=stack(raws, frame), gt=stack(gts, (s, s, 3)), val_raw=stack(vraw, frame),
             val_sigma=stack(vsig, frame), val_gt=stack(vgt, (s, s, 3)), cfa=cfa, meta_json=np.array(json.dumps(meta)),
             **bursts)
    tmp.replace(path)
    return path


def cache_path(design: DesignPoint, cache_dir: str | Path = DEFAULT_CACHE_DIR, spec: CacheSpec = CacheSpec()) -> Path:
    """Cache file of ``design`` (keyed by its design hash, the cache version, the burst length and
    the training photos' magnification range when it is not the default)."""
    burst = f"_burst{spec.frames}" if spec.frames > 1 else ""
    lo, hi = spec.photo_magnification
    photos = "" if tuple(spec.photo_magnification) == PHOTO_MAGNIFICATION else f"_photo{lo:.4g}-{hi:.4g}x"
    return Path(cache_dir) / f"cache_{design.design_hash()}_v{CACHE_VERSION}{burst}{photos}.npz"


def load_cache(path: str | Path) -> dict:
    """The cache as a dict of numpy arrays plus ``meta`` (dict)."""
    import json

    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    data["meta"] = json.loads(str(data.pop("meta_json")))
    return data


def ensure_cache(design: DesignPoint, cache_dir: str | Path = DEFAULT_CACHE_DIR, spec: CacheSpec = CacheSpec(),
                 progress=None) -> Path:
    """Path of ``design``'s cache, building it first if absent."""
    path = cache_path(design, cache_dir, spec)
    if not path.exists():
        build_cache(design, path, spec, progress=progress)
    return path


# --- on-the-fly noise and crops (torch) -----------------------------------------------------------


def noise_sigma_torch(clean, snr_db):
    """engine.sensor.noise_sigma_map (no read noise) in torch: sqrt(max(s, 0) / g), g = 10^(snr/10).
    snr_db: float or a tensor broadcastable to ``clean``."""
    import torch

    gain = torch.as_tensor(10.0, dtype=clean.dtype) ** (torch.as_tensor(snr_db, dtype=clean.dtype) / 10.0)
    return torch.sqrt(torch.clamp(clean, min=0.0) / gain)


def add_noise_torch(clean, snr_db, generator=None):
    """(noisy, sigma): Gaussian shot noise of engine.sensor's model at ``snr_db``."""
    import torch

    sigma = noise_sigma_torch(clean, snr_db)
    return clean + sigma * torch.randn(clean.shape, generator=generator, dtype=clean.dtype), sigma


class CropSampler:
    """Random training batches from one or more caches: crops at multiples of 8 px, random exposure
    gain, fresh noise at an SNR uniform in ``snr_range_db``.

    Returns (raw (B, 1, c, c), sigma (B, 1, c, c), gt (B, 3, c, c)) float32 tensors; all caches must
    share the CFA layout and size.
    """

    def __init__(self, caches: list[dict], crop: int, batch: int, *, snr_range_db=(30.0, 40.0),
                 gain_range=(0.6, 1.25), seed: int = 0):
        import torch

        if crop % CFA_PERIOD_PX:
            raise ValueError(f"crop must be a multiple of {CFA_PERIOD_PX}, got {crop}")
        self.raw = torch.from_numpy(np.concatenate([c["raw"] for c in caches]))
        self.gt = torch.from_numpy(np.concatenate([c["gt"] for c in caches]))
        self.size = self.raw.shape[-1]
        if crop > self.size:
            raise ValueError(f"crop {crop} exceeds the cached captures ({self.size} px)")
        self.crop, self.batch = crop, batch
        self.snr_range, self.gain_range = snr_range_db, gain_range
        self.gen = torch.Generator().manual_seed(seed)

    def state(self) -> dict:
        return {"rng": self.gen.get_state()}

    def load_state(self, state: dict) -> None:
        self.gen.set_state(state["rng"])

    def sample(self):
        _, noisy, sigma, gt = self.draw()
        return noisy, sigma, gt

    def draw(self, frames: int | None = None):
        """(capture indices (B,), noisy (B, k, c, c), sigma, gt (B, 3, c, c)): one crop offset per
        capture, k = 1 for single-frame caches, the first ``frames`` frames of a burst cache."""
        import torch

        g, c = self.gen, self.crop
        n = self.raw.shape[0]
        idx = torch.randint(n, (self.batch,), generator=g)
        slots = (self.size - c) // CFA_PERIOD_PX + 1
        oy = torch.randint(slots, (self.batch,), generator=g) * CFA_PERIOD_PX
        ox = torch.randint(slots, (self.batch,), generator=g) * CFA_PERIOD_PX
        pick = None if frames is None else slice(frames)  # None adds the frame axis of a single frame
        windows = list(zip(idx.tolist(), oy.tolist(), ox.tolist()))
        raw = torch.stack([self.raw[i, pick, y:y + c, x:x + c] for i, y, x in windows]).float()
        gt = torch.stack([self.gt[i, y:y + c, x:x + c] for i, y, x in windows])
        gt = gt.float().permute(0, 3, 1, 2).contiguous()
        lo, hi = self.gain_range
        gain = torch.exp(torch.empty(self.batch, 1, 1, 1).uniform_(math.log(lo), math.log(hi), generator=g))
        snr = torch.empty(self.batch, 1, 1, 1).uniform_(*self.snr_range, generator=g)
        noisy, sigma = add_noise_torch(raw * gain, snr, generator=g)
        return idx, noisy, sigma, gt * gain
