"""Sweep grids: which designs, pipelines, measurements and seeds a sweep covers (run by engine/sweep.py).

A grid is a TOML (or JSON, same keys) file; every key but ``axes`` is optional::

    preset = "0.35"                  # base design: a Table 1 preset (default 0.35) ...
    pipelines = ["traditional"]      # any of engine.isp.PIPELINES (default traditional)
    measurements = ["mtf50"]         # mtf50 (gratings, H and V), sfr_mtf50 (slanted edge, H), psnr, msssim, lpips
    seeds = [0]                      # one dimension: scene, noise and motion seed
    scene = "dead_leaves"            # psnr/msssim/lpips: a scene name, an image path or "photos:test"

    [base]                           # ... with these fields set for every point (axis names below)
    cfa = "hex"

    [axes]                           # one dimension each, in this order: a list, or a range
    pitch_um = [0.75, 0.65, 0.55, 0.45, 0.35]
    f_number = {start = 1.66, stop = 3.55, num = 4}     # num values, both ends included
    lens_scale = [1.0, 1.5]                             # every Zernike coefficient of the lens x this
    snr_db = {start = 20, stop = 40, step = 5}          # step, stop included

    [instrument]                     # "quick" (default) or "full" settings of engine.study, then overrides
    settings = "quick"
    size_px = 64                     # grating / slanted-edge window, pixels
    count = 12                       # grating frequencies
    extent_um = 128.0                # psnr/msssim/lpips view on the sensor, micrometres
    max_images = 2                   # photos:SPLIT: the first this many photos (0 = all)

Axis (and ``base``) names: the scalar DesignPoint fields (``pitch_um``, ``f_number``, ``f_number_ref``,
``cfa``, ``snr_db``, ``flux``, ``oversample``, ``fill_factor``, ``burst``), ``ocl_enabled``,
``ocl_tilt_waves``, ``ocl_coma_waves``, ``Z<noll>`` (one Zernike coefficient, waves at 550 nm) and
``lens_scale``. A point whose PSF would be under-sampled gets ``optics.min_oversample`` (oversampling
is numerical, docs/design.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine import optics, study
from engine.design import DesignError, DesignPoint, preset

DESIGN_FIELDS = ("pitch_um", "f_number", "f_number_ref", "cfa", "snr_db", "flux", "oversample", "fill_factor", "burst")
OCL_FIELDS = {"ocl_enabled": "enabled", "ocl_tilt_waves": "tilt_waves", "ocl_coma_waves": "coma_waves"}
LENS_SCALE = "lens_scale"
MEASUREMENTS = {
    # measurement -> (instrument, result variables); one task per instrument serves all its measurements
    "mtf50": ("gratings", ("mtf50_h_cyc_per_mm", "mtf50_v_cyc_per_mm")),
    "sfr_mtf50": ("slanted_edge", ("sfr_mtf50_h_cyc_per_mm",)),
    "psnr": ("images", ("psnr_db",)),
    "msssim": ("images", ("msssim",)),
    "lpips": ("images", ("lpips",)),
}
INSTRUMENT_KEYS = ("size_px", "count", "extent_um", "max_images")
PHOTO_SET_PREFIX = "photos:"
MAX_POINTS = 1_000_000
_TOP_KEYS = ("preset", "pipelines", "measurements", "seeds", "scene", "base", "axes", "instrument")


class SweepError(ValueError):
    """A bad grid entry or sweep option; the message names it, what is allowed and the value, on one line."""


@dataclass(frozen=True)
class SweepGrid:
    """A parsed grid. axes: ``((name, values), ...)`` in file order; instrument: resolved settings."""

    preset: str
    base: tuple[tuple[str, object], ...]
    axes: tuple[tuple[str, tuple], ...]
    pipelines: tuple[str, ...]
    measurements: tuple[str, ...]
    seeds: tuple[int, ...]
    scene: str
    instrument: tuple[tuple[str, object], ...]

    @property
    def dims(self) -> tuple[str, ...]:
        """Dimensions of the result cube: the axes, then ``pipeline`` and ``seed``."""
        return tuple(name for name, _ in self.axes) + ("pipeline", "seed")

    @property
    def instruments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(MEASUREMENTS[m][0] for m in self.measurements))

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for m in self.measurements for v in MEASUREMENTS[m][1])

    def to_json(self) -> str:
        """Canonical JSON of the whole grid (stored with the results; a resume must match it)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Task:
    """One unit of work: one instrument on one design, pipeline and seed; ``key`` is its identity
    (design hash + instrument + pipeline + seed + settings) and ``index`` its cells in the cube
    (several when axes give the same design)."""

    key: str
    instrument: str
    design: DesignPoint | None
    pipeline: str
    seed: int
    index: tuple[tuple[int, ...], ...]
    error: str = ""


def load_grid(path: str | Path) -> SweepGrid:
    """A grid from a .toml or .json file."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"--grid: no file at {str(path)!r}")
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else tomllib.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise SweepError(f"--grid: {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'} ({err})") from None
    return parse_grid(data)


def parse_grid(data: dict) -> SweepGrid:
    """Validate a grid dict (the file's keys, module docstring)."""
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise SweepError(f"grid keys must be among {', '.join(_TOP_KEYS)}, got {', '.join(unknown)}")
    from engine.isp import PIPELINES

    axes = data.get("axes") or {}
    if not isinstance(axes, dict) or not axes:
        raise SweepError(f"axes must be a table of at least one axis (e.g. pitch_um = [0.35, 0.45]), got {axes!r}")
    base = data.get("base", {})
    for name in list(axes) + list(base):
        _check_axis_name(name)
    grid = SweepGrid(
        preset=str(data.get("preset", "0.35")),
        base=tuple(base.items()),
        axes=tuple((name, axis_values(name, spec)) for name, spec in axes.items()),
        pipelines=_choices("pipelines", data.get("pipelines", ["traditional"]), PIPELINES),
        measurements=_choices("measurements", data.get("measurements", ["mtf50"]), tuple(MEASUREMENTS)),
        seeds=_seeds(data.get("seeds", [0])),
        scene=str(data.get("scene", "dead_leaves")),
        instrument=tuple(_instrument(data.get("instrument", {})).items()),
    )
    try:
        design_at(grid, {})
    except ValueError as err:
        raise SweepError(f"base: {err}") from None
    for name, values in grid.axes:  # each value on the base design: a value out of its own range fails here
        for value in values:
            try:
                design_at(grid, {name: value})
            except DesignError as err:
                if err.field_name.startswith(_design_field(name)):
                    raise SweepError(f"axes.{name}: {err}") from None
            except ValueError as err:
                raise SweepError(f"axes.{name}: {err}") from None
    points = math.prod(len(v) for _, v in grid.axes) * len(grid.pipelines) * len(grid.seeds)
    if points > MAX_POINTS:
        raise SweepError(f"grid must have at most {MAX_POINTS} cells (axes x pipelines x seeds), got {points}")
    return grid


def axis_values(name: str, spec) -> tuple:
    """An axis' values: a non-empty list, or ``{start, stop, num}`` / ``{start, stop, step}`` (stop included)."""
    if isinstance(spec, list) and spec:
        if len(set(spec)) != len(spec):
            raise SweepError(f"axes.{name} must not repeat a value, got {spec!r}")
        return tuple(spec)
    if isinstance(spec, dict) and set(spec) in ({"start", "stop", "num"}, {"start", "stop", "step"}):
        start, stop = float(spec["start"]), float(spec["stop"])
        if "num" in spec:
            num = spec["num"]
            if not isinstance(num, int) or not 1 <= num <= 10_000:
                raise SweepError(f"axes.{name}.num must be an integer in [1, 10000], got {num!r}")
        else:
            step = float(spec["step"])
            if step <= 0 or stop < start:
                raise SweepError(f"axes.{name} range needs step > 0 and stop >= start, got {spec!r}")
            num = int(math.floor((stop - start) / step + 1e-9)) + 1
            stop = start + (num - 1) * step
        values = [start + (stop - start) * k / max(num - 1, 1) for k in range(num)]
        return tuple(round(v, 10) for v in values)
    raise SweepError(f"axes.{name} must be a non-empty list or {{start, stop, num}} / {{start, stop, step}}, got {spec!r}")


def design_at(grid: SweepGrid, point: dict) -> DesignPoint:
    """The design of one grid point: the preset, then ``base``, then the point's axis values;
    ``lens_scale`` multiplies every Zernike coefficient; oversampling raised to Nyquist where needed."""
    design = preset(grid.preset)
    values = {**dict(grid.base), **point}
    fields = {k: values[k] for k in DESIGN_FIELDS if k in values}
    zernike = dict(design.zernike)
    zernike.update({int(k[1:]): float(v) for k, v in values.items() if k[:1] == "Z"})
    scale = float(values.get(LENS_SCALE, 1.0))
    ocl = dataclasses.replace(design.ocl, **{OCL_FIELDS[k]: values[k] for k in OCL_FIELDS if k in values})
    return optics.nyquist_sampled(design.replace(zernike=tuple((j, c * scale) for j, c in zernike.items()), ocl=ocl,
                                                 **fields))


def tasks(grid: SweepGrid) -> list[Task]:
    """Every task of the grid, duplicates merged (one key, several cube cells)."""
    names = [name for name, _ in grid.axes]
    settings = hashlib.sha256(json.dumps([grid.instrument, grid.scene]).encode()).hexdigest()[:8]
    found: dict[str, Task] = {}
    for cell in itertools.product(*(range(len(v)) for _, v in grid.axes)):
        point = {name: values[k] for (name, values), k in zip(grid.axes, cell)}
        try:
            design = design_at(grid, point)
            error, ident = "", design.design_hash()
        except ValueError as err:
            design, error, ident = None, f"{type(err).__name__}: {err}", "invalid-" + "-".join(map(str, cell))
        for (p, pipeline), (s, seed), instrument in itertools.product(
                enumerate(grid.pipelines), enumerate(grid.seeds), grid.instruments):
            key = f"{instrument}-{pipeline}-{ident}-s{seed}-{settings}"
            index = (*cell, p, s)
            if key in found:
                found[key] = dataclasses.replace(found[key], index=found[key].index + (index,))
            else:
                found[key] = Task(key, instrument, design, pipeline, seed, (index,), error)
    return list(found.values())


def _design_field(axis: str) -> str:
    """The DesignError field name an axis sets (lens_scale and Z<noll> set Zernike terms)."""
    if axis in OCL_FIELDS:
        return "ocl." + OCL_FIELDS[axis]
    return "zernike" if axis == LENS_SCALE or axis[:1] == "Z" else axis


def _check_axis_name(name: str) -> None:
    if name in DESIGN_FIELDS or name in OCL_FIELDS or name == LENS_SCALE:
        return
    if name[:1] == "Z" and name[1:].isdigit():
        return
    raise SweepError(f"axis names must be DesignPoint fields ({', '.join(DESIGN_FIELDS)}), "
                    f"{', '.join(OCL_FIELDS)}, Z<noll> or {LENS_SCALE}, got {name!r}")


def _choices(key: str, values, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(values, list) or not values or any(v not in allowed for v in values) or len(set(values)) != len(values):
        raise SweepError(f"{key} must be a non-empty list of distinct names from {', '.join(allowed)}, got {values!r}")
    return tuple(values)


def _seeds(values) -> tuple[int, ...]:
    if (not isinstance(values, list) or not values or len(set(values)) != len(values)
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values)):
        raise SweepError(f"seeds must be a non-empty list of distinct integers >= 0, got {values!r}")
    return tuple(values)


def _instrument(table: dict) -> dict:
    if not isinstance(table, dict):
        raise SweepError(f"instrument must be a table (settings = 'quick' | 'full', and overrides), got {table!r}")
    table = dict(table)
    name = table.pop("settings", "quick")
    if name not in study.STUDY_SETTINGS:
        raise SweepError(f"instrument.settings must be one of {', '.join(study.STUDY_SETTINGS)}, got {name!r}")
    settings = {"settings": name, **study.STUDY_SETTINGS[name]}
    for key, value in table.items():
        if key not in INSTRUMENT_KEYS:
            raise SweepError(f"instrument keys must be among settings, {', '.join(INSTRUMENT_KEYS)}, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SweepError(f"instrument.{key} must be a number >= 0, got {value!r}")
        settings[key] = value
    settings["max_images"] = settings["max_images"] or 0
    return settings
