"""One rerun's view of the engine: lazily fetches each stage from app.cache and logs it.

A :class:`Run` is built per script run from the current design and view (never stored at module
level), so browser sessions share only the pure caches. Views ask it for what they show; nothing
is computed for a view that is not open.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app import cache
from app.state import UPLOAD_SCENE, ViewState
from engine import optics, scenes, simulate
from engine.design import DesignPoint
from engine.isp import PIPELINES

LOG = logging.getLogger("smallpix.app")
FAILED = "failed"
"""Token of a pipeline stage that raised (never cached): its message says what went wrong."""


def is_photo(scene: str) -> bool:
    return scene == UPLOAD_SCENE or scene in scenes.BUNDLED_PHOTOS


@dataclass(frozen=True)
class Placement:
    """Where the simulated window sits on a photo: its source pixel size and the view centre."""

    source_pixel_um: float
    offset_um: tuple[float, float]
    photo_um: tuple[float, float]  # (width, height) the photo covers on the sensor
    enlarged: bool  # the photo was enlarged beyond 0.35 um per source pixel (to cover the view, or fitted)


def place_photo(photo_rows: int, photo_cols: int, view_um: float, crop_x: float, crop_y: float,
                fit: bool = False) -> Placement:
    """Source pixel (>= engine default 0.35 um, larger if the photo would not cover ``view_um``; with
    ``fit``, what makes the short side cover ``view_um``: engine.scenes.covering_pixel_um) and the offset of the view centre
    for crop position (crop_x, crop_y) in [0, 1] of the free range."""
    needed = scenes.covering_pixel_um(photo_rows, photo_cols, view_um, source_pixel_um=0.0)
    source = needed if fit else max(scenes.DEFAULT_SOURCE_PIXEL_UM, needed)
    source = math.ceil(source * 1e6) / 1e6
    width, height = photo_cols * source, photo_rows * source
    free_x, free_y = max(width - view_um, 0.0), max(height - view_um, 0.0)
    ox = math.trunc((crop_x - 0.5) * free_x * 1e4) / 1e4
    oy = math.trunc((crop_y - 0.5) * free_y * 1e4) / 1e4
    return Placement(source, (ox, oy), (width, height), source > scenes.DEFAULT_SOURCE_PIXEL_UM)


@dataclass
class Run:
    """The current design and view, with memoised access to every cached stage."""

    design: DesignPoint
    view: ViewState
    upload_path: Path | None = None
    neural_version: str = "none"
    started: float = field(default_factory=time.time)
    log: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict)

    # -- bookkeeping
    def _note(self, name: str, stage: cache.Stage) -> cache.Stage:
        self.log[name] = stage.record(name)
        for dep in stage.deps:
            self.log.setdefault(dep[0], dep)
        return stage

    def _once(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def stage_table(self) -> list[dict]:
        """One row per stage used in this rerun: computed now or taken from the cache."""
        rows = []
        for name, token, seconds, created in self.log.values():
            fresh = created >= self.started
            rows.append({"stage": name, "status": "computed" if fresh else "cached",
                         "seconds": round(seconds, 3) if fresh else None, "token": token[:8]})
        return rows

    # -- keys
    @property
    def optics_json(self) -> str:
        return cache.optics_key(self.design)

    @property
    def margin_px(self) -> int:
        return simulate.margin_px(self.design, optics.psf_size(self.design))

    @property
    def scene_name(self) -> str:
        if self.view.scene == UPLOAD_SCENE:
            if self.upload_path is None:
                raise FileNotFoundError("upload an image in the sidebar (Scene), or choose another scene")
            return str(self.upload_path)
        return self.view.scene

    def placement(self) -> Placement | None:
        """Photo placement, or None for charts (charts are centred on the view)."""
        if not is_photo(self.view.scene):
            return None

        def make():
            path = Path(self.scene_name) if self.view.scene == UPLOAD_SCENE else scenes.BUNDLED_PHOTOS[self.view.scene]
            rows, cols = cache.photo_shape(str(path), path.stat().st_mtime_ns)
            view_um = (self.view.size_px + 2 * self.margin_px) * self.design.pitch_um
            return place_photo(rows, cols, view_um, self.view.crop_x, self.view.crop_y, self.view.fit)

        return self._once("placement", make)

    def scene_spec(self) -> dict:
        samples = (self.view.size_px + 2 * self.margin_px) * self.design.oversample
        params: dict = {}
        placement = self.placement()
        if placement is not None:
            params = {"source_pixel_um": placement.source_pixel_um, "offset_um": list(placement.offset_um)}
        return {"scene": self.scene_name, "dx_um": self.design.dx_um, "shape": [samples, samples],
                "seed": self.view.seed, "params": params}

    @property
    def capture_json(self) -> str:
        return self._once("capture_json", lambda: cache.capture_key(self.design, self.scene_spec(), self.margin_px))

    # -- stages
    def psfs(self) -> optics.PSFSet:
        return self._once("psf", lambda: self._note("PSF", cache.psf_stage(self.optics_json))).value

    def reference_psfs(self) -> optics.PSFSet:
        return self._once("ref_psf", lambda: self._note(
            "diffraction PSF", cache.reference_psf_stage(cache.reference_key(self.design)))).value

    def capture(self):
        return self._once("raw", lambda: self._note("RAW", cache.raw_stage(self.capture_json))).value

    def reference_image(self) -> np.ndarray:
        key = cache.ground_truth_key(self.design, self.scene_spec(), self.margin_px)
        return self._once("gt", lambda: self._note("ground truth", cache.reference_stage(key, self.design))).value

    def output(self, pipeline: str) -> cache.Stage:
        """Stage of one pipeline's display image (value None and a message where it cannot run).

        The Neural ISP is work in progress elsewhere: if it raises anything but PipelineUnavailable,
        the other panels still render and its panel says what failed (token ``FAILED``)."""

        def make() -> cache.Stage:
            try:
                return self._note(pipeline, cache.pipeline_stage(self.capture_json, pipeline,
                                                                 cache.pipeline_version(pipeline, self.neural_version)))
            except Exception as err:
                if pipeline != "neural":
                    raise
                LOG.exception("the Neural ISP failed")
                return cache.Stage(None, FAILED, 0.0, time.time(), (),
                                   f"The Neural ISP failed on this capture ({type(err).__name__}: {err}).")

        return self._once(("out", pipeline), make)

    def outputs(self, pipelines: tuple[str, ...] = PIPELINES) -> dict[str, cache.Stage]:
        """:meth:`output` of every pipeline, one after the other (computing them side by side in
        threads stalled a browser session's reruns intermittently in CI; docs/app.md)."""
        return {p: self.output(p) for p in pipelines}

    def single_frame_neural(self, selection: dict | None) -> np.ndarray | None:
        """Where the multi-frame net made the Neural panel from a burst (``selection``: the registry's
        choice for this design), the single-frame per-design net on frame 0 alone, for comparison;
        else None."""
        if self.design.burst == 1 or selection is None or selection["kind"] != "burst":
            return None
        version = cache.neural_signature("design", cache.neural_options(self.neural_version)["precision"])
        stage = self._once("single_frame_neural", lambda: self._note(
            "neural (frame 0)", cache.pipeline_stage(self.capture_json, "neural", version)))
        return stage.value

    def metrics(self, pipeline: str) -> dict:
        """PSNR / MS-SSIM / LPIPS of one pipeline that has an output (all such pipelines are
        measured together, in one batch)."""
        ready = tuple(p for p, out in self.outputs().items() if out.value is not None)
        return self._once("metrics", lambda: self._note(
            "metrics", cache.metrics_stage(self.capture_json, ready, self.neural_version))).value[pipeline]

    def neural_message(self) -> str | None:
        """None where the Neural ISP runs for this design, else why not."""
        return self._once("neural_probe", lambda: cache.neural_probe(cache.design_key(self.design), self.neural_version))

    def measurable_pipelines(self) -> tuple[str, ...]:
        """Pipelines the MTF instrument can run for this design (neural only with weights)."""
        return tuple(p for p in PIPELINES if p != "neural" or self.neural_message() is None)
