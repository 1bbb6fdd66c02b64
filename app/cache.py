"""Cached engine stages: each keyed by exactly the parameters it depends on (design.md 1).

=================  =====================================================  ==================
stage              key                                                    cache
=================  =====================================================  ==================
PSFs               ``psf`` stage design (``optics_key``)                  ``st.cache_data``
diffraction PSFs   optics key without lens and OCL (``reference_key``)   ``st.cache_data``
scene              scene name/file, dx_um, samples, seed, placement       ``st.cache_data``
scene spectrum     scene key + ``prepared_scene`` stage design            ``st.cache_resource``
sensor OTF         optics key + CFA + scene samples                       ``st.cache_resource``
clean RAW          ``clean`` stage design + scene key + margin            ``st.cache_data``
RAW capture        whole design + scene key + margin (``capture_key``)   ``st.cache_data``
ground truth       ``ground_truth`` stage design + scene key + margin     ``st.cache_data``
pipeline output    capture key + pipeline (+ Neural weights signature)    ``st.cache_data``
metrics            capture key + pipeline (+ Neural weights signature)    ``st.cache_data``
=================  =====================================================  ==================

Which design fields each stage reads is written once, in ``engine.simulate.STAGE_FIELDS``; the
keys here are :func:`engine.simulate.stage_design` of the design, and the stages call the engine's
stage functions, so this module only caches.

Sessions share these caches (a design another session has shown is a cache hit), bounded by
``max_entries`` sized for eight concurrent sessions on different designs. Every heavy engine
computation holds one of ``WORKERS`` (one per core, across all sessions of the server): eight
sessions on two cores queue for the cores instead of thrashing them, so each stage runs at full
speed in turn, and queued stages are admitted oldest slider change first (:class:`OldestFirst`), so
a change waits for the changes that began before it, not for every change in flight.

So moving SNR redraws only the noise (the clean frames and the ground truth are cached) and
recomputes what follows; moving a Zernike slider recomputes PSFs, OTF and RAW but not the scene. The sensor OTF (up to
50 MB at 512 x 512 px, oversample 2) is a read-only operator, so it is a shared resource rather than copied
out of the data cache on every hit.

Every stage returns a :class:`Stage`: the value plus a random ``token`` drawn when it was
computed (a cache hit returns the same token), its compute time and the tokens of the stages it
used. The app logs them per rerun ("Compute log" in the sidebar) and the tests compare tokens to
check what was recomputed. Keys are canonical JSON strings, so hashing them is cheap.
Cached functions are pure: everything they depend on is in their arguments.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from engine import optics, scenes, sensor, simulate
from engine.design import DesignPoint
from engine.isp import PipelineUnavailable, color, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "pretrained"


class OldestFirst:
    """At most ``slots`` holders at once; waiting callers are let in oldest request first.

    A caller's age is the start of the slider change it serves (:func:`begin_rerun`), so a change
    that began earlier gets every one of its stages ahead of a later change, and eight concurrent
    changes finish one after another instead of all together at the end (a plain semaphore admits
    whichever thread wakes first, which spreads every change over the whole busy period)."""

    def __init__(self, slots: int):
        self._free = slots
        self._waiting: list[tuple[float, int]] = []
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot now."""
        with self._changed:
            return len(self._waiting)

    @contextlib.contextmanager
    def slot(self, started: float):
        """Hold one slot; ``started``: time.monotonic() of the change this work serves (s)."""
        with self._changed:
            ticket = (started, next(self._tickets))
            heapq.heappush(self._waiting, ticket)
            while not self._free or self._waiting[0] != ticket:
                self._changed.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


WORKERS = OldestFirst(max(1, os.cpu_count() or 1))
"""Heavy engine computations running at once, over every session of this server process."""
_RERUN = threading.local()


def begin_rerun() -> None:
    """Mark the start of this script run (a slider change): its stages queue by this time."""
    _RERUN.started = time.monotonic()


def _rerun_started() -> float:
    return getattr(_RERUN, "started", None) or time.monotonic()


def rerun_seconds() -> float:
    """Seconds since this script run began (:func:`begin_rerun`)."""
    return time.monotonic() - _rerun_started()


@dataclass(frozen=True)
class Stage:
    """A computed (or cached) stage value. token: drawn at compute time; seconds: compute time;
    created: wall-clock time of the computation; deps: (name, token, seconds, created) of the
    stages used; message: why ``value`` is None (e.g. no Neural ISP weights)."""

    value: Any
    token: str
    seconds: float
    created: float
    deps: tuple = ()
    message: str | None = None

    def record(self, name: str) -> tuple[str, str, float, float]:
        return (name, self.token, self.seconds, self.created)

    def chain(self, name: str) -> tuple:
        """This stage's record followed by those of everything it used (for ``deps``)."""
        return (self.record(name),) + tuple(self.deps)


def _timed(fn, *args, deps=(), **kwargs) -> Stage:
    """``fn(*args, **kwargs)`` on one of the WORKERS, as a Stage (seconds: compute time, not the wait)."""
    with WORKERS.slot(_rerun_started()):
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
    return Stage(value, uuid.uuid4().hex, seconds, time.time(), tuple(deps))


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def optics_key(design: DesignPoint) -> str:
    """The fields of the design the PSFs read (engine.simulate.STAGE_FIELDS): the PSFs' cache key."""
    return canonical(simulate.stage_fields("psf", design))


def reference_key(design: DesignPoint) -> str:
    """The optics key of the same design with an aberration-free lens and no OCL."""
    return optics_key(optics.diffraction_limited(design))


def design_key(design: DesignPoint) -> str:
    return canonical(design.to_dict())


def capture_key(design: DesignPoint, scene_spec: dict, margin_px: int) -> str:
    return canonical({"design": design.to_dict(), "scene": scene_spec, "margin": margin_px})


def neural_signature(choice: str = "auto", precision: str = "fp32") -> str:
    """Which Neural ISP answers: the choice (engine.isp.NEURAL_CHOICES), the arithmetic of its body
    (engine.isp.NEURAL_PRECISIONS) and the names, sizes and mtimes of the weight files under
    pretrained/ and the user folder (nets fine-tuned on demand). Part of the Neural ISP's cache keys,
    so weights that land while the server runs are picked up without a restart."""
    from engine.isp.neural.finetune import user_weights_dir

    entries = sorted(
        f"{folder.name}/{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for folder in (PRETRAINED, user_weights_dir()) if folder.is_dir()
        for p in folder.glob("*") if p.is_file()
    )
    return canonical({"choice": choice, "precision": precision, "files": entries})


def neural_options(neural_version: str) -> dict:
    """run_pipeline's Neural ISP options (``neural``, ``precision``) inside a :func:`neural_signature`
    (the defaults for the bare "none")."""
    found = json.loads(neural_version) if neural_version.startswith("{") else {}
    return {"neural": found.get("choice", "auto"), "precision": found.get("precision", "fp32")}


def pipeline_version(pipeline: str, neural_version: str) -> str:
    """The part of the Neural ISP signature a pipeline's output depends on: all of it for ``neural``,
    none for the others (a change of net or arithmetic leaves their cached crops alone)."""
    return neural_version if pipeline == "neural" else "none"


@functools.cache
def fast_precision() -> str:
    """The Neural ISP arithmetic the app previews in by default: bf16 where this CPU has native
    bfloat16 (about 2x faster), else fp32."""
    from engine.isp.neural.model import native_bf16

    return "bf16" if native_bf16() else "fp32"


# --- optics -----------------------------------------------------------------------------------


@st.cache_data(max_entries=32, show_spinner=False)
def psf_stage(optics_json: str) -> Stage:
    """51-wavelength OCL PSFs of the optics in ``optics_json`` (engine.simulate.psfs_for: the
    process's PSF cache, which the deconv and universal Neural ISP kernels read too)."""
    return _timed(simulate.psfs_for, DesignPoint.from_dict(json.loads(optics_json)))


@st.cache_data(max_entries=16, show_spinner=False)
def reference_psf_stage(reference_json: str) -> Stage:
    """Diffraction-limited PSFs (Strehl / MTF references) for ``reference_key(design)``: keyed
    without the lens and OCL, so moving a Zernike term reuses them."""
    return _timed(simulate.psfs_for, DesignPoint.from_dict(json.loads(reference_json)))


# --- scene ------------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def photo_shape(path: str, mtime_ns: int) -> tuple[int, int]:
    """(rows, cols) of a photo after its EXIF orientation (``mtime_ns`` keys a changed file)."""
    height_um, width_um = scenes.photo_extent_um(path, 1.0)
    return int(round(height_um)), int(round(width_um))


@st.cache_data(max_entries=16, show_spinner=False)
def scene_stage(scene_json: str) -> Stage:
    """The scene (engine.scenes.render_scene) for a spec from :func:`app.compute.scene_spec`."""
    spec = json.loads(scene_json)
    params = dict(spec["params"])
    if "offset_um" in params:
        params["offset_um"] = tuple(params["offset_um"])
    return _timed(scenes.render_scene, spec["scene"], spec["dx_um"], tuple(spec["shape"]), rng=spec["seed"], **params)


# --- sensor -----------------------------------------------------------------------------------


@st.cache_resource(max_entries=12, show_spinner=False)  # 4 MB at 256 px, 15 MB at 512 px each
def prepared_scene_stage(scene_json: str, fields_json: str, _design: DesignPoint) -> Stage:
    """The scene's spectrum and ground truth (engine.sensor.prepare_scene), keyed by the design
    fields it reads (``fields_json``; ``_design``, not hashed, supplies them): shared by every
    optics setting, so F# and Zernike changes skip the scene's transform."""
    scene = scene_stage(scene_json)
    stage = _timed(sensor.prepare_scene, scene.value, _design, deps=scene.chain("scene"))
    for array in (stage.value.scene_cf, stage.value.spectrum, stage.value.ground_truth):
        array.flags.writeable = False
    return stage


@st.cache_resource(max_entries=12, show_spinner=False)  # 14 MB at 256 px, 50 MB at 512 px each
def otf_stage(optics_json: str, cfa: str, scene_shape: tuple[int, int]) -> Stage:
    """The sensor OTF of these optics and CFA on a scene grid (read-only, shared)."""
    psf = psf_stage(optics_json)
    design = DesignPoint.from_dict(json.loads(optics_json)).replace(cfa=cfa)
    stage = _timed(sensor.make_sensor_otf, psf.value.psf_pixel, design, scene_shape, deps=psf.chain("PSF"))
    stage.value.otf.flags.writeable = False
    stage.value.row_factor.flags.writeable = False
    return stage


def clean_key(capture_json: str) -> str:
    """The clean RAW's key: the capture key with the design fields the clean frames read (no SNR,
    no flux)."""
    key = json.loads(capture_json)
    return simulate.stage_key("clean", DesignPoint.from_dict(key["design"]), scene=key["scene"], margin=key["margin"])


def _prepared_scene(scene: dict, design: DesignPoint) -> Stage:
    """The prepared scene (spectrum and ground truth) of a scene spec for ``design``."""
    fields = canonical(simulate.stage_fields("prepared_scene", design))
    return prepared_scene_stage(canonical(scene), fields, design)


@st.cache_data(max_entries=16, show_spinner=False)
def clean_stage(clean_json: str) -> Stage:
    """The noise-free frames of a capture (engine.sensor.render_clean), margins kept, with the OTF
    and the scene taken from their caches."""
    key = json.loads(clean_json)
    design = DesignPoint.from_dict(key["design"])
    optics_json = optics_key(design)
    psf = psf_stage(optics_json)
    scene = _prepared_scene(key["scene"], design)
    otf = otf_stage(optics_json, design.cfa, tuple(scene.value.scene_cf.shape[1:]))
    rng = np.random.default_rng(key["scene"]["seed"])
    deps = psf.chain("PSF") + scene.chain("scene spectrum") + otf.chain("sensor OTF")
    return _timed(sensor.render_clean, scene.value, otf.value, design, rng=rng, deps=deps)


@st.cache_data(max_entries=24, show_spinner=False)
def raw_stage(capture_json: str) -> Stage:
    """The RAW capture of a design and scene, margins cropped: the clean frames (cached apart, so
    an SNR change only redraws the noise) plus noise, as engine.simulate.capture_scene."""
    key = json.loads(capture_json)
    clean = clean_stage(clean_key(capture_json))

    return _timed(simulate.noisy_capture, clean.value, DesignPoint.from_dict(key["design"]), key["margin"],
                  deps=clean.chain("clean RAW"))


def ground_truth_key(design: DesignPoint, scene_spec: dict, margin_px: int) -> str:
    """The ground truth's key: the scene, the margin and the design fields it reads (sampling and
    pixel aperture; not the optics, not the noise)."""
    return simulate.stage_key("ground_truth", design, scene=scene_spec, margin=margin_px)


@st.cache_data(max_entries=24, show_spinner=False)
def reference_stage(ground_truth_json: str, _design: DesignPoint) -> Stage:
    """Ground truth (of a :func:`ground_truth_key`; ``_design``, not hashed, is the design it was
    made from) through the shared colour chain: display sRGB (H, W, 3) in [0, 1]. SNR, F# and lens
    changes reuse it."""
    key = json.loads(ground_truth_json)
    scene = _prepared_scene(key["scene"], _design)

    def display():
        truth = simulate.crop_ground_truth(scene.value.ground_truth, key["margin"])
        return color.camera_to_display(truth, color.color_chain())

    return _timed(display, deps=scene.chain("scene spectrum"))


# --- ISP and metrics --------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def pipeline_stage(capture_json: str, pipeline: str, neural_version: str) -> Stage:
    """Display sRGB of one pipeline, or value None and the engine's message where it cannot run
    (PipelineUnavailable: no Neural ISP weights for this design). ``neural_version`` keys the
    Neural ISP's weights (:func:`neural_signature`)."""
    raw = raw_stage(capture_json)
    try:
        return _timed(run_pipeline, pipeline, raw.value, color.color_chain(), **neural_options(neural_version),
                      deps=raw.chain("RAW"))
    except PipelineUnavailable as err:
        return Stage(None, uuid.uuid4().hex, 0.0, time.time(), raw.chain("RAW"), str(err))


@st.cache_data(max_entries=32, show_spinner=False)
def metrics_stage(capture_json: str, pipelines: tuple[str, ...], neural_version: str) -> Stage:
    """{pipeline: PSNR (dB), MS-SSIM (None below 161 px per side), LPIPS} of the outputs of
    ``pipelines`` (each must have one) against the ground truth, both display sRGB: one batched
    call per metric, the ground truth's LPIPS features computed once."""
    from engine import perceptual  # torch: imported on first use only

    outputs = [pipeline_stage(capture_json, p, pipeline_version(p, neural_version)) for p in pipelines]
    key = json.loads(capture_json)
    design = DesignPoint.from_dict(key["design"])
    ref = reference_stage(ground_truth_key(design, key["scene"], key["margin"]), design)
    deps = sum((out.chain(p) for p, out in zip(pipelines, outputs)), ()) + ref.chain("ground truth")

    def measure(images: np.ndarray, reference: np.ndarray) -> dict:
        small = min(reference.shape[:2]) < perceptual.MS_SSIM_MIN_SIZE
        psnr = perceptual.psnr(images, reference)
        msssim = None if small else perceptual.ms_ssim(images, reference)
        lpips = perceptual.lpips_alex(images, reference)
        return {p: {"psnr_db": float(psnr[i]), "msssim": None if msssim is None else float(msssim[i]),
                    "lpips": float(lpips[i])} for i, p in enumerate(pipelines)}

    return _timed(measure, np.stack([out.value for out in outputs]), ref.value, deps=deps)


@st.cache_data(max_entries=32, show_spinner=False)
def neural_probe(design_json: str, neural_version: str) -> str | None:
    """None if the Neural ISP runs for this design, else the engine's message (a 32 x 32 px flat
    capture is enough to find out)."""
    design = DesignPoint.from_dict(json.loads(design_json))
    psfs = psf_stage(optics_key(design)).value
    size = max(32, (psfs.psf_pixel.shape[-1] + design.oversample - 1) // design.oversample)
    size += size % 2
    scene = np.full((size * design.oversample, size * design.oversample, 3), 0.4, dtype=np.float32)
    capture = sensor.simulate_raw(scene, psfs.psf_pixel, design, rng=0)
    try:
        run_pipeline("neural", capture, color.color_chain(), **neural_options(neural_version))
    except PipelineUnavailable as err:
        return str(err)
    return None
