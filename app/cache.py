"""Cached engine stages: each keyed by exactly the parameters it depends on (design.md 1).

=================  =====================================================  ==================
stage              key                                                    cache
=================  =====================================================  ==================
PSFs               optics fields of the design (``optics_key``)          ``st.cache_data``
diffraction PSFs   optics key without lens and OCL (``reference_key``)   ``st.cache_data``
scene              scene name/file, dx_um, samples, seed, placement       ``st.cache_data``
scene spectrum     scene key + oversample + fill factor                   ``st.cache_resource``
sensor OTF         optics key + CFA + scene samples                       ``st.cache_resource``
clean RAW          capture key without SNR and flux (``clean_key``)       ``st.cache_data``
RAW capture        whole design + scene key + margin (``capture_key``)   ``st.cache_data``
ground truth       capture key                                            ``st.cache_data``
pipeline output    capture key + pipeline (+ Neural weights signature)    ``st.cache_data``
metrics            capture key + pipeline (+ Neural weights signature)    ``st.cache_data``
=================  =====================================================  ==================

Sessions share these caches (a design another session has shown is a cache hit), bounded by
``max_entries`` sized for eight concurrent sessions on different designs. Every heavy engine
computation holds one of ``WORKERS`` (one per core, across all sessions of the server): eight
sessions on two cores queue for the cores instead of thrashing them, so each stage runs at full
speed in turn and a slider change waits at most for the stages ahead of it.

So moving SNR redraws only the noise (the clean frames are cached) and recomputes what follows;
moving a Zernike slider recomputes PSFs, OTF and RAW but not the scene. The sensor OTF (up to
50 MB at 512 x 512 px, oversample 2) is a read-only operator, so it is a shared resource rather than copied
out of the data cache on every hit.

Every stage returns a :class:`Stage`: the value plus a random ``token`` drawn when it was
computed (a cache hit returns the same token), its compute time and the tokens of the stages it
used. The app logs them per rerun ("Compute log" in the sidebar) and the tests compare tokens to
check what was recomputed. Keys are canonical JSON strings, so hashing them is cheap.
Cached functions are pure: everything they depend on is in their arguments.
"""

from __future__ import annotations

import dataclasses
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
from engine.design import NOISE_FIELDS, DesignPoint
from engine.isp import PipelineUnavailable, color, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "pretrained"
WORKERS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
"""Heavy engine computations running at once, over every session of this server process."""


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
    with WORKERS:
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
    return Stage(value, uuid.uuid4().hex, seconds, time.time(), tuple(deps))


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def at_defaults(design: DesignPoint, *names: str) -> DesignPoint:
    """``design`` with the fields ``names`` at DesignPoint's defaults (a key without them)."""
    defaults = {f.name: f.default for f in dataclasses.fields(DesignPoint)}
    return design.replace(**{name: defaults[name] for name in names})


def optics_key(design: DesignPoint) -> str:
    """The design with every non-optical field at its default: the PSFs' cache key."""
    return canonical(at_defaults(design, "cfa", *NOISE_FIELDS).to_dict())


def reference_key(design: DesignPoint) -> str:
    """The optics key of the same design with an aberration-free lens and no OCL."""
    return optics_key(optics.diffraction_limited(design))


def design_key(design: DesignPoint) -> str:
    return canonical(design.to_dict())


def capture_key(design: DesignPoint, scene_spec: dict, margin_px: int) -> str:
    return canonical({"design": design.to_dict(), "scene": scene_spec, "margin": margin_px})


def neural_signature(choice: str = "auto") -> str:
    """Which Neural ISP answers: the choice (engine.isp.NEURAL_CHOICES) and the names, sizes and
    mtimes of the weight files under pretrained/ and the user folder (nets fine-tuned on demand).
    Part of the Neural ISP's cache keys, so weights that land while the server runs are picked up
    without a restart."""
    from engine.isp.neural.finetune import user_weights_dir

    entries = sorted(
        f"{folder.name}/{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for folder in (PRETRAINED, user_weights_dir()) if folder.is_dir()
        for p in folder.glob("*") if p.is_file()
    )
    return canonical({"choice": choice, "files": entries})


def neural_choice(neural_version: str) -> str:
    """The Neural ISP choice inside a :func:`neural_signature` ("auto" for the bare "none")."""
    return json.loads(neural_version)["choice"] if neural_version.startswith("{") else "auto"


# --- optics -----------------------------------------------------------------------------------


@st.cache_data(max_entries=32, show_spinner=False)
def psf_stage(optics_json: str) -> Stage:
    """51-wavelength OCL PSFs (engine.optics.compute_psfs) of the optics in ``optics_json``."""
    return _timed(optics.compute_psfs, DesignPoint.from_dict(json.loads(optics_json)))


@st.cache_data(max_entries=16, show_spinner=False)
def reference_psf_stage(reference_json: str) -> Stage:
    """Diffraction-limited PSFs (Strehl / MTF references) for ``reference_key(design)``: keyed
    without the lens and OCL, so moving a Zernike term reuses them."""
    return _timed(optics.compute_psfs, DesignPoint.from_dict(json.loads(reference_json)))


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
def prepared_scene_stage(scene_json: str, oversample: int, fill_factor: float, _design: DesignPoint) -> Stage:
    """The scene's spectrum and ground truth (engine.sensor.prepare_scene), which depend on the
    design only through ``oversample`` and ``fill_factor`` (the key; ``_design`` is not hashed):
    shared by every optics setting, so F# and Zernike changes skip the scene's transform."""
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
    """The capture key with the noise fields (SNR, flux) at their defaults: the clean RAW's key."""
    key = json.loads(capture_json)
    key["design"] = at_defaults(DesignPoint.from_dict(key["design"]), "snr_db", "flux").to_dict()
    return canonical(key)


@st.cache_data(max_entries=16, show_spinner=False)
def clean_stage(clean_json: str) -> Stage:
    """The noise-free frames of a capture (engine.sensor.render_clean), margins kept, with the OTF
    and the scene taken from their caches."""
    key = json.loads(clean_json)
    design = DesignPoint.from_dict(key["design"])
    optics_json = optics_key(design)
    psf = psf_stage(optics_json)
    scene = prepared_scene_stage(canonical(key["scene"]), design.oversample, float(design.fill_factor), design)
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

    def noisy():
        capture = sensor.add_capture_noise(clean.value, DesignPoint.from_dict(key["design"]))
        return simulate.crop_capture(capture, key["margin"])

    return _timed(noisy, deps=clean.chain("clean RAW"))


@st.cache_data(max_entries=24, show_spinner=False)
def reference_stage(capture_json: str) -> Stage:
    """Ground truth through the shared colour chain: display sRGB (H, W, 3) in [0, 1]."""
    raw = raw_stage(capture_json)
    return _timed(color.camera_to_display, raw.value.ground_truth, color.color_chain(), deps=raw.chain("RAW"))


# --- ISP and metrics --------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def pipeline_stage(capture_json: str, pipeline: str, neural_version: str) -> Stage:
    """Display sRGB of one pipeline, or value None and the engine's message where it cannot run
    (PipelineUnavailable: no Neural ISP weights for this design). ``neural_version`` keys the
    Neural ISP's weights (:func:`neural_signature`)."""
    raw = raw_stage(capture_json)
    try:
        return _timed(run_pipeline, pipeline, raw.value, color.color_chain(), neural=neural_choice(neural_version),
                      deps=raw.chain("RAW"))
    except PipelineUnavailable as err:
        return Stage(None, uuid.uuid4().hex, 0.0, time.time(), raw.chain("RAW"), str(err))


@st.cache_data(max_entries=32, show_spinner=False)
def metrics_stage(capture_json: str, pipelines: tuple[str, ...], neural_version: str) -> Stage:
    """{pipeline: PSNR (dB), MS-SSIM (None below 161 px per side), LPIPS} of the outputs of
    ``pipelines`` (each must have one) against the ground truth, both display sRGB: one batched
    call per metric, the ground truth's LPIPS features computed once."""
    from engine import perceptual  # torch: imported on first use only

    outputs = [pipeline_stage(capture_json, p, neural_version) for p in pipelines]
    ref = reference_stage(capture_json)
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
        run_pipeline("neural", capture, color.color_chain(), neural=neural_choice(neural_version))
    except PipelineUnavailable as err:
        return str(err)
    return None
