"""Training data of the universal Neural ISP: clean captures of many random designs, noise on the fly.

The pool (``build_pool``) holds, for ``designs`` random designs (universal.random_design, seeded),
``CAPTURES`` clean mosaics of ``size_px`` pixels each with their ground truth, and per design its
system kernels (engine.isp.deconv.design_kernels) and CFA layout. Scenes per design:

* photos of the ``train`` split (assets/photo_sets.json; never the test or validation photos) at a
  source pixel log-uniform in 0.45-2.3x the design's pitch (as the Table 3 protocol shows photos);
* colour dead leaves and the Latin + CJK text chart at random sizes and contrasts;
* one chart of training_charts (never an MTF instrument's chart at its measurement settings): a
  coloured sinusoidal grating of random angle, phase, frequency, mean and contrast, or a slanted
  edge of random angle and contrast, or a Siemens star.

``UniversalSampler`` draws a batch of one CFA layout, adds fresh Gaussian shot noise at an SNR
uniform in 10-45 dB and a random exposure gain to whole captures, computes the conditioning planes
(universal.conditioning) on the whole noisy capture, then crops (multiples of 8 px).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from engine import scenes, sensor
from engine.design import DesignPoint
from engine.isp import deconv
from engine.isp.neural import training_charts as charts, universal
from engine.isp.neural.data import DEFAULT_CACHE_DIR, load_cache  # same npz + meta_json layout
from engine.simulate import CFA_PERIOD_PX, SceneCapturer, psfs_for

POOL_VERSION = 3
"""2: training edges keep 2 degrees from the e-SFR edge (training_charts); 3: PSF window at least
6 lambda F# (optics.psf_window_px)."""
PHOTO_MAGNIFICATION = (0.45, 2.3)
"""Source photo pixel / design pitch, log-uniform (the Table 3 protocol spans 0.47-2.2x)."""
SNR_RANGE_DB = (10.0, 45.0)
GAIN_RANGE = (0.6, 1.25)
KINDS = ("photo", "photo", "photo", "dead_leaves", "dead_leaves", "text", "chart")


def _scene(kind: str, design: DesignPoint, shape: tuple[int, int], rng: np.random.Generator, photos: list[Path]):
    """Render one training scene of ``kind`` for ``design`` on a grid of ``shape`` samples."""
    dx, seed = design.dx_um, int(rng.integers(2**31))
    if kind == "photo":
        path = str(photos[int(rng.integers(len(photos)))])
        view_um = shape[0] * dx
        lo, hi = PHOTO_MAGNIFICATION
        sp = scenes.covering_source_pixel_um(path, view_um, design.pitch_um * math.exp(rng.uniform(math.log(lo), math.log(hi))))
        h_um, w_um = scenes.photo_extent_um(path, sp)
        fx, fy = max(w_um - view_um, 0) / 2, max(h_um - view_um, 0) / 2
        return scenes.render_scene(path, dx, shape, rng=seed, source_pixel_um=sp,
                                   offset_um=(float(rng.uniform(-fx, fx)), float(rng.uniform(-fy, fy))))
    if kind == "dead_leaves":
        return scenes.render_scene("dead_leaves", dx, shape, rng=seed, **charts.dead_leaves_params(rng, design.pitch_um))
    if kind == "text":
        return scenes.render_scene("text", dx, shape, rng=seed, text_height_um=float(rng.uniform(4, 20) * design.pitch_um),
                                   ink=float(rng.uniform(0.02, 0.3)), paper=float(rng.uniform(0.4, 0.9)))
    u = rng.random()
    if u < 0.5:
        return charts.random_grating(dx, shape, rng, 1000.0 / (2 * design.pitch_um))
    if u < 0.8:
        return scenes.render_scene("slanted_edge", dx, shape, rng=seed, **charts.edge_params(rng))
    return scenes.render_scene("siemens_star", dx, shape, rng=seed, **charts.star_params(rng))


def build_pool(path: str | Path, *, designs: int | list[DesignPoint] = 240, size_px: int = 160, seed: int = 0,
               repeats: int = 1, progress=None) -> Path:
    """Synthesise the universal net's training pool and write it to ``path`` (.npz).

    designs: how many random designs (universal.random_design), or the designs themselves (a
    fine-tune pool); repeats: scene sets (KINDS) per design.
    Arrays: ``raw`` (N, S, S) float16 clean mosaics, ``gt`` (N, S, S, 3) float16 linear camera RGB,
    ``design_index`` (N,), ``kernels`` (D, 3, K, K) float32 (:func:`stack_kernels`), ``layouts`` (D,)
    str, ``meta_json`` (the designs, seconds, sources). progress: optional callable(done, total).
    """
    if size_px % CFA_PERIOD_PX:
        raise ValueError(f"size_px must be a multiple of {CFA_PERIOD_PX}, got {size_px}")
    rng = np.random.default_rng(seed)
    photos = scenes.photo_set("train")
    raws, gts, index, kernels, layouts, design_dicts = [], [], [], [], [], []
    chosen = designs if isinstance(designs, list) else [None] * designs
    per_design = len(KINDS) * repeats
    t0, total = time.time(), len(chosen) * per_design
    for d, design in enumerate(chosen):
        design = design or universal.random_design(rng)
        psfs = psfs_for(design)
        capturer = SceneCapturer(design, size_px, psfs.psf_pixel)
        for k, kind in enumerate(KINDS * repeats):
            image = _scene(kind, design, capturer.shape, rng, photos)
            cap = capturer.capture(image, int(rng.integers(2**31)), noise="none")
            raws.append(cap.raw.astype(np.float16))
            gts.append(cap.ground_truth.astype(np.float16))
            index.append(d)
            if progress:
                progress(d * per_design + k + 1, total)
        kernels.append(deconv.system_kernels(psfs.psf_pixel, design.oversample).astype(np.float32))
        layouts.append(design.cfa)
        design_dicts.append(design.to_dict())
    meta = {"version": POOL_VERSION, "seed": seed, "size_px": size_px, "designs": design_dicts,
            "kinds": list(KINDS), "seconds": round(time.time() - t0, 1), "photo_split": "train",
            "photo_magnification": list(PHOTO_MAGNIFICATION)}
    return _save_pool(path, {"raw": np.stack(raws), "gt": np.stack(gts), "design_index": np.array(index, np.int32),
                             "kernels": stack_kernels(kernels), "layouts": np.array(layouts)}, meta)


def stack_kernels(kernels: list[np.ndarray]) -> np.ndarray:
    """(3, w, w) system kernels of several designs (their PSF windows differ: optics.psf_window_px) as
    one (D, 3, K, K) array, each zero-padded about its centre to the largest K; :func:`own_kernels`
    undoes it."""
    size = max(k.shape[-1] for k in kernels)
    rings = [((size - k.shape[-1]) // 2,) * 2 for k in kernels]
    return np.stack([np.pad(k, ((0, 0), ring, ring)) for k, ring in zip(kernels, rings)])


def own_kernels(kernels: np.ndarray) -> np.ndarray:
    """One design's (3, K, K) kernels from :func:`stack_kernels`, the zero rings of its padding cut
    off (so its Wiener filter pads the image by its own half-window)."""
    size = kernels.shape[-1]
    used = np.flatnonzero(np.abs(kernels).sum(axis=(0, 2)))
    ring = min(used[0], size - 1 - used[-1]) if used.size else 0
    return kernels[:, ring:size - ring, ring:size - ring]


def _save_pool(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write a pool's arrays and meta to ``path`` (.npz) atomically (a temporary file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays, meta_json=np.array(json.dumps(meta)))
    tmp.replace(path)
    return path


def build_pool_parallel(path: str | Path, *, designs: int, workers: int, size_px: int = 160, seed: int = 0,
                        progress=None) -> Path:
    """A pool of ``designs`` random designs built as ``workers`` parts in as many processes (part i:
    build_pool with a seed drawn from (``seed``, i)), written as one file at ``path`` whose meta lists
    the parts. Not the same designs as build_pool(designs, seed): a pool of its own (pool_path's
    ``parts``). progress: optional callable(parts done, parts)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not 1 <= workers <= designs:
        raise ValueError(f"workers must be in [1, {designs}] (one part per worker, at least a design each), got {workers}")
    path = Path(path)
    seeds = [int(s) for s in np.random.SeedSequence([seed, designs]).generate_state(workers)]
    counts = [designs // workers + (i < designs % workers) for i in range(workers)]
    parts = [path.with_name(f"{path.stem}.part{i}.npz") for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(build_pool, part, designs=n, size_px=size_px, seed=s) for part, n, s in zip(parts, counts, seeds)]
        for done, job in enumerate(jobs, 1):
            job.result()
            if progress:
                progress(done, workers)
    merged = load_pool(parts)
    meta = merged.pop("meta") | {"seed": seed, "parts": [{"designs": n, "seed": s} for n, s in zip(counts, seeds)]}
    meta.pop("pools")
    _save_pool(path, merged, meta)
    for part in parts:
        part.unlink()
    return path


def load_pool(paths: str | Path | list[str | Path]) -> dict:
    """One pool, or the union of several (same capture size): their captures and designs one after
    another, ``meta["designs"]`` concatenated, ``meta["pools"]`` the file names."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    pools = [load_cache(p) for p in paths]
    if len(pools) == 1:  # no copy of a single pool's arrays
        pools[0]["meta"]["pools"] = [Path(paths[0]).name]
        return pools[0]
    sizes = {p["raw"].shape[-1] for p in pools}
    if len(sizes) != 1:
        raise ValueError(f"pools must share one capture size, got {sorted(sizes)} px")
    offsets = np.cumsum([0] + [len(p["kernels"]) for p in pools[:-1]])
    merged = {k: np.concatenate([p[k] for p in pools]) for k in ("raw", "gt", "layouts")}
    merged["kernels"] = stack_kernels([own_kernels(k) for p in pools for k in p["kernels"]])
    merged["design_index"] = np.concatenate([p["design_index"] + o for p, o in zip(pools, offsets)]).astype(np.int32)
    merged["meta"] = {**pools[0]["meta"], "designs": [d for p in pools for d in p["meta"]["designs"]],
                      "pools": [Path(p).name for p in paths]}
    return merged


def pool_path(designs: int, size_px: int, seed: int, cache_dir: str | Path = DEFAULT_CACHE_DIR, parts: int = 1) -> Path:
    """Pool file of ``designs`` random designs of ``seed``, built in one process or in ``parts``
    (build_pool_parallel)."""
    split = f"_parts{parts}" if parts > 1 else ""
    return Path(cache_dir) / f"universal_pool_d{designs}_s{size_px}_seed{seed}_v{POOL_VERSION}{split}.npz"


class UniversalSampler:
    """Random batches (one CFA layout each) from a pool: returns numpy arrays
    raw (B, c, c), sigma (B, c, c), cond (B, c, c, COND_FEATURES), gt (B, c, c, 3) and the layout."""

    def __init__(self, pool: dict, crop: int, batch: int, *, seed: int = 0, snr_range_db=SNR_RANGE_DB):
        if crop % CFA_PERIOD_PX or crop > pool["raw"].shape[-1]:
            raise ValueError(f"crop must be a multiple of {CFA_PERIOD_PX} up to {pool['raw'].shape[-1]}, got {crop}")
        self.pool, self.crop, self.batch, self.snr_range = pool, crop, batch, snr_range_db
        self.rng = np.random.default_rng(seed)
        layouts = pool["layouts"][pool["design_index"]]
        self.by_layout = {lay: np.flatnonzero(layouts == lay) for lay in universal.TRAINING_RANGE["cfa"]}
        self.by_layout = {k: v for k, v in self.by_layout.items() if v.size}
        size = pool["raw"].shape[-1]
        self.cfa = {lay: sensor.cfa_pattern(lay, (size, size)) for lay in self.by_layout}
        self.kernels = [own_kernels(k) for k in pool["kernels"]]  # each design's own, cut once

    def state(self) -> str:
        return json.dumps(self.rng.bit_generator.state)

    def load_state(self, state: str) -> None:
        self.rng.bit_generator.state = json.loads(state)

    def sample(self):
        rng, c = self.rng, self.crop
        names = list(self.by_layout)
        weights = np.array([{"hex": 2.0}.get(n, 1.0) for n in names])
        layout = names[rng.choice(len(names), p=weights / weights.sum())]
        idx = rng.choice(self.by_layout[layout], size=self.batch)
        size = self.pool["raw"].shape[-1]
        slots = (size - c) // CFA_PERIOD_PX + 1
        out = {k: [] for k in ("raw", "sigma", "cond", "gt")}
        for i in idx:
            gain = math.exp(rng.uniform(*np.log(GAIN_RANGE)))
            clean = self.pool["raw"][i].astype(np.float32) * gain
            snr = rng.uniform(*self.snr_range)
            sigma = sensor.noise_sigma_map(clean, snr).astype(np.float32)
            noisy = clean + sigma * rng.standard_normal(clean.shape, dtype=np.float32)
            cond = universal.conditioning(noisy, sigma, self.cfa[layout], layout,
                                          self.kernels[self.pool["design_index"][i]])
            y, x = rng.integers(slots, size=2) * CFA_PERIOD_PX
            crop = (slice(y, y + c), slice(x, x + c))
            out["raw"].append(noisy[crop])
            out["sigma"].append(sigma[crop])
            out["cond"].append(cond[crop])
            out["gt"].append(self.pool["gt"][i][crop].astype(np.float32) * gain)
        return {k: np.stack(v) for k, v in out.items()} | {"layout": layout}
