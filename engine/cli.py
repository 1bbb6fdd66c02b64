"""Command-line interface: ``python -m engine <command> ...`` (contract in design.md 4).

Error contract (README, "CLI error contract"): every failure a user can cause exits with status 2
and one line naming the option, the allowed range and the value given; :func:`main` is the one place
that turns such errors into that line (:func:`error_line`). Numeric options declare their range
once (:class:`Allowed`, shown in ``--help`` and checked right after parsing, before any work or
progress bar); output paths are checked before the work and written atomically to exactly the path
given (:mod:`engine.fileio`); a RAW npz is size-checked from its headers before it is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import fileio
from engine.design import (
    BURST_RANGE,
    DEFAULT_PRESET,
    F_NUMBER_MAX,
    F_NUMBER_REF_RANGE,
    OCL_MAX_WAVES,
    OVERSAMPLE_RANGE,
    PITCH_RANGE_UM,
    SNR_RANGE_DB,
    DesignError,
    DesignPoint,
    OCLOffsets,
    parse_zernike,
    preset,
    presets,
)
from engine.isp import NEURAL_CHOICES, PIPELINES
from engine.parallel import keep_freed_memory_in_heap

# DesignPoint field -> the CLI option that sets it, for error messages.
FIELD_OPTIONS = {
    "preset": "--preset", "pitch_um": "--pitch-um", "f_number": "--f-number", "f_number_ref": "--f-number-ref",
    "zernike": "--zernike", "oversample": "--oversample", "cfa": "--cfa", "snr_db": "--snr-db", "flux": "--flux",
    "fill_factor": "--fill-factor", "burst": "--burst", "ocl.tilt_waves": "--ocl-tilt", "ocl.coma_waves": "--ocl-coma",
}


class UsageError(Exception):
    """A bad command-line value; printed as one line, exit status 2."""


SEED_RANGE = (0, 2**32 - 1)
SOURCE_PIXEL_RANGE_UM = (0.1, 2.0)  # photo pixel on the sensor (raw, study)
RAW_SIDE_RANGE_PX = (16, 2048)  # `raw --size`; also the cap on a RAW npz read by `isp --raw`
RAW_MAX_MB = 1024
DESIGN_JSON_MAX_CHARS = 65536
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
PSF_WORK_WARNING = 2e11  # complex multiply-adds, ~250x the default PSF set of the 0.35 um preset


@dataclass(frozen=True)
class Allowed:
    """The documented range of a numeric option: [lo, hi] (unit), optionally a multiple of a step."""

    lo: float
    hi: float
    unit: str = ""
    multiple_of: int = 1

    def __str__(self) -> str:
        step = f"a multiple of {self.multiple_of} " if self.multiple_of > 1 else ""
        return f"{step}in [{_number(self.lo)}, {_number(self.hi)}]" + (f" {self.unit}" if self.unit else "")

    def admits(self, value: float) -> bool:
        return self.lo <= value <= self.hi and (self.multiple_of == 1 or value % self.multiple_of == 0)


def _number(value: float) -> str:
    """An option value as typed: integers exactly, floats short."""
    return str(value) if isinstance(value, int) else f"{value:g}"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and numeric options checked against their :class:`Allowed` range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ranges: dict[str, tuple[str, Allowed]] = {}  # dest -> (option, range)

    def add_number(self, option: str, kind: type, allowed: Allowed, help: str, **kwargs) -> None:
        """A numeric option (``kind`` int or float) whose value must be ``allowed``; --help shows the range."""
        action = self.add_argument(option, type=kind, help=f"{help}; {allowed}", **kwargs)
        self.ranges[action.dest] = (option, allowed)

    def parse_known_args(self, args=None, namespace=None):  # argparse calls this for each subparser too
        namespace, extras = super().parse_known_args(args, namespace)
        for dest, (option, allowed) in self.ranges.items():
            value = getattr(namespace, dest, None)
            if value is not None and not allowed.admits(value):
                self.error(f"{option} must be {allowed}, got {_number(value)}")
        return namespace, extras

    def error(self, message):  # one line, status 2 (argparse prints usage + message otherwise)
        raise UsageError(f"{self.prog}: {message}")


def _add_neural_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--neural", choices=NEURAL_CHOICES, default="auto",
                        help="which Neural ISP: auto (the per-design net where one was trained for the design, else "
                             "the universal net), design, universal (default auto)")


def _add_design_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("design (a Table 1 preset, then overrides)")
    g.add_argument("--preset", help=f"Table 1 design by pitch: {', '.join(presets())} (default {DEFAULT_PRESET})")
    g.add_argument("--pitch-um", type=float, help="pixel pitch, in [%g, %g] um" % PITCH_RANGE_UM)
    g.add_argument("--f-number", type=float, help=f"working F#, in [f-number-ref, {F_NUMBER_MAX:g}]")
    g.add_argument("--f-number-ref", type=float,
                   help="F# of the reference pupil the wavefront is defined on, in [%g, %g]" % F_NUMBER_REF_RANGE)
    g.add_argument("--zernike", help="'Z4=0.05,Z11=-0.1' (waves at 550 nm, Noll 1-37, each at most once, "
                                     "|c| <= 2) replacing the lens, or 'none' (a perfect lens)")
    g.add_argument("--oversample", type=int, help="image-plane samples per pixel pitch, in [%d, %d]" % OVERSAMPLE_RANGE)
    g.add_argument("--no-ocl", action="store_true", help="one PSF for all four 2x2 on-chip-lens phases")
    g.add_argument("--ocl-tilt", type=float,
                   help=f"OCL tilt offset per phase, waves at 550 nm, in [-{OCL_MAX_WAVES:g}, {OCL_MAX_WAVES:g}]")
    g.add_argument("--ocl-coma", type=float,
                   help=f"OCL coma offset per phase, waves at 550 nm, in [-{OCL_MAX_WAVES:g}, {OCL_MAX_WAVES:g}]")
    g.add_argument("--cfa", help="colour filter array: hex | quad | bayer")
    g.add_argument("--snr-db", type=float, help="shot-noise SNR at the reference level, in [%g, %g] dB" % SNR_RANGE_DB)
    g.add_argument("--flux", help="hold | physical")
    g.add_argument("--fill-factor", type=float, help="pixel aperture width / pitch, in [0.05, 1]")
    g.add_argument("--burst", type=int, help="frames per capture, in [%d, %d]" % BURST_RANGE)


def design_from_args(args: argparse.Namespace) -> DesignPoint:
    """The design the options describe: the preset (default 0.35) with explicit options applied."""
    base = preset(args.preset or DEFAULT_PRESET)
    changes = {
        name: getattr(args, name)
        for name in ("pitch_um", "f_number", "f_number_ref", "oversample", "cfa", "snr_db", "flux", "fill_factor", "burst")
        if getattr(args, name) is not None
    }
    if args.zernike is not None:
        changes["zernike"] = parse_zernike(args.zernike)
    ocl = base.ocl
    changes["ocl"] = OCLOffsets(
        enabled=ocl.enabled and not args.no_ocl,
        tilt_waves=ocl.tilt_waves if args.ocl_tilt is None else args.ocl_tilt,
        coma_waves=ocl.coma_waves if args.ocl_coma is None else args.ocl_coma,
    )
    return base.replace(**changes)


def _cmd_presets(args: argparse.Namespace) -> None:
    rows = [{"name": name, **d.to_dict(), "design_hash": d.design_hash()} for name, d in presets().items()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['name']}: pitch {row['pitch_um']} um, F/{row['f_number']}, CFA {row['cfa']}, SNR {row['snr_db']} dB")


def _engine_error(command: str, err: Exception, terms: dict[str, str]) -> UsageError:
    """An engine error raised for ``command`` as a UsageError, the engine's parameter names in its
    message (``terms``: name -> option) replaced by the options the user typed."""
    text = str(err)
    for name, option in terms.items():
        text = re.sub(rf"\b{name}\b", option, text)
    return UsageError(f"{command}: {text}")


def _psf_work(optics, design: DesignPoint, size: int, pupil_samples: int, mono_nm: float | None) -> float:
    """Complex multiply-adds of ``psf``: per wavelength and OCL phase, for the PSFs and their
    diffraction-limited reference, (S x M) @ (M x M) and (S x M) @ (M x S), M the pupil rows inside
    the working pupil."""
    rows = pupil_samples * design.pupil_fraction
    wavelengths = 1 if mono_nm is not None else optics.WAVELENGTHS_NM.size
    return 2 * wavelengths * optics.N_PHASES * size * rows * (rows + size)


def _cmd_psf(args: argparse.Namespace) -> None:
    from engine import optics

    design = design_from_args(args)
    out = fileio.check_output_file(args.out, "--out", (".npz",)) if args.out is not None else None
    size = optics.psf_size(design) if args.size is None else args.size
    work = _psf_work(optics, design, size, args.pupil_samples, args.mono_nm)
    if work > PSF_WORK_WARNING:
        print(f"psf: warning: --size {size} with --pupil-samples {args.pupil_samples} is {work:.1e} complex "
              "multiply-adds; this can take minutes (lower either for a quick look)", file=sys.stderr)
    try:
        psfs = optics.compute_psfs(design, size=size, pupil_samples=args.pupil_samples, mono_nm=args.mono_nm)
        reference = optics.compute_psfs(
            optics.diffraction_limited(design), size=size, pupil_samples=args.pupil_samples, mono_nm=args.mono_nm
        )
    except ValueError as err:
        raise _engine_error("psf", err, {"pupil_samples": "--pupil-samples", "oversample": "--oversample"}) from None
    if out is not None:
        with fileio.atomic_output(out, "--out") as handle:
            np.savez_compressed(
                handle,
                psf_optical=psfs.psf_optical,
                psf_pixel=psfs.psf_pixel,
                dx_um=np.float64(psfs.dx_um),
                wavelengths_nm=psfs.wavelengths_nm,
                channel_weights=psfs.channel_weights,
                design_json=json.dumps(design.to_dict()),
            )
    strehl = optics.strehl_ratios(psfs, reference).astype(float)
    summary = {
        "design": design.to_dict(),
        "design_hash": design.design_hash(),
        "dx_um": psfs.dx_um,
        "size": psfs.psf_pixel.shape[-1],
        "wavefront_rms_waves_550nm": optics.wavefront_rms_waves(design, args.pupil_samples),
        "strehl_per_channel": dict(zip("RGB", strehl.mean(axis=0).round(4).tolist())),
        "strehl_per_phase_channel": strehl.round(4).tolist(),
        "fwhm_um_per_channel": {
            c: round(float(np.mean([optics.fwhm_um(psfs.psf_optical[p, i], psfs.dx_um) for p in range(4)])), 4)
            for i, c in enumerate("RGB")
        },
        "timings_s": {k: round(v, 4) for k, v in psfs.timings_s.items()},
        "out": args.out,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"PSF {summary['size']}x{summary['size']} at {psfs.dx_um:.4f} um/sample, RMS wavefront "
            f"{summary['wavefront_rms_waves_550nm']:.3f} waves, Strehl {summary['strehl_per_channel']}, "
            f"FWHM {summary['fwhm_um_per_channel']} um, {psfs.timings_s['total']:.3f} s"
            + (f" -> {args.out}" if args.out else "")
        )


def _progress_bar(description: str):
    """A tqdm bar on stderr driven by callable(done, total); returns (callback, bar)."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc=description, unit="step", file=sys.stderr, leave=False, disable=None)  # None: not on a non-TTY

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update, bar


def _check_scene_fits(size_px: int, margin_px: int, design: DesignPoint) -> None:
    """Refuse a ``--size`` whose scene (size + 2 margins, times the oversampling) exceeds the scene cap."""
    from engine import scenes
    from engine.simulate import CFA_PERIOD_PX

    cap = scenes.SHAPE_RANGE[1]
    largest = (cap // design.oversample - 2 * margin_px) // CFA_PERIOD_PX * CFA_PERIOD_PX
    if size_px > largest:
        raise UsageError(f"--size must be at most {largest} pixels at --oversample {design.oversample} (scenes are "
                         f"capped at {cap} samples per side), got {size_px}")


def _cmd_raw(args: argparse.Namespace) -> None:
    from engine import optics
    from engine.simulate import capture_scene, margin_px

    design = design_from_args(args)
    out = fileio.check_output_file(args.out, "--out", (".npz", ".dng"))
    _check_scene_fits(args.size, margin_px(design, optics.psf_size(design)), design)
    params = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
    try:
        capture = capture_scene(design, args.scene, args.size, seed=args.seed, **params)
    except (ValueError, FileNotFoundError) as err:
        raise _engine_error("raw", err, {"source_pixel_um": "--source-pixel-um", "oversample": "--oversample",
                                         "scene": "--scene"}) from None
    with fileio.atomic_output(out, "--out") as handle:
        if out.suffix.lower() == ".dng":
            from engine import dng

            dng.write_dng(capture, handle)
        else:
            capture.to_npz(handle)
    print(f"RAW {capture.raw.shape} {design.cfa} at {design.pitch_um} um, SNR {capture.snr_db:.1f} dB -> {args.out}")


def _raw_members(frames: int, height: int, width: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (allowed dtype kinds, shape) of the arrays of a RAW npz of these dimensions (design.md 4)."""
    stack = (frames, height, width) if frames > 1 else (height, width)
    members = {"raw": ("f", stack), "noise_sigma": ("f", stack), "cfa": ("iu", (height, width)),
               "phase": ("iu", (height, width)), "ground_truth": ("f", (height, width, 3)), "design_json": ("U", ())}
    if frames > 1:
        members |= {"shifts_px": ("f", (frames, 2)), "rotations_deg": ("f", (frames,))}
    return members


def _check_raw_headers(headers: dict, where: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The members to load from a RAW npz, after checking every shape and dtype against the caps of
    ``raw --size`` and ``--burst`` (from the headers: nothing is allocated yet)."""
    missing = [name for name in ("raw", "design_json") if name not in headers]
    if missing:
        raise UsageError(f"--raw: {where} is not a smallpix RAW npz: missing {', '.join(missing)}")
    shape = headers["raw"].shape
    lo, hi = RAW_SIDE_RANGE_PX
    frames = shape[0] if len(shape) == 3 else 1
    sides_ok = len(shape) in (2, 3) and all(lo <= n <= hi for n in shape[-2:])
    frames_ok = len(shape) == 2 or 2 <= frames <= BURST_RANGE[1]
    if not (sides_ok and frames_ok):
        raise UsageError(f"--raw: {where}: raw must be (H, W) or (frames, H, W) with H and W in [{lo}, {hi}] pixels "
                         f"and 2-{BURST_RANGE[1]} frames, got shape {shape}")
    members = _raw_members(frames, *shape[-2:])
    for name, (kinds, expected) in members.items():
        header = headers.get(name)
        if header is None:
            raise UsageError(f"--raw: {where} is not a smallpix RAW npz: missing {name}")
        size_ok = header.dtype.itemsize <= (4 * DESIGN_JSON_MAX_CHARS if kinds == "U" else 8)
        if header.shape != expected or header.dtype.kind not in kinds or not size_ok:
            raise UsageError(f"--raw: {where}: {name} must be {expected} of kind {kinds!r} (numpy dtype.kind), "
                             f"got {header.shape} {header.dtype}")
    return members


def _design_from_json(text: str, where: str) -> DesignPoint:
    """The design a RAW npz records: the JSON of ``DesignPoint.to_dict()``, every field, no other."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"--raw: {where}: design_json is not valid JSON ({type(err).__name__})") from None
    fields = {f.name for f in dataclasses.fields(DesignPoint)}
    ocl_fields = {f.name for f in dataclasses.fields(OCLOffsets)}
    if not isinstance(data, dict) or set(data) != fields or not isinstance(data["zernike"], dict) \
            or not isinstance(data["ocl"], dict) or set(data["ocl"]) != ocl_fields:
        raise UsageError(f"--raw: {where}: design_json must be an object with exactly the keys {', '.join(sorted(fields))} "
                         f"(zernike an object, ocl an object with {', '.join(sorted(ocl_fields))})")
    try:
        return DesignPoint.from_dict(data)
    except DesignError as err:
        raise UsageError(f"--raw: {where}: design_json: {err}") from None
    except (ValueError, TypeError, OverflowError) as err:
        raise UsageError(f"--raw: {where}: design_json is not a valid design ({err})") from None


def load_capture(path: str):
    """A RawCapture from an npz written by ``raw``; anything else is a one-line UsageError naming --raw.

    Before loading: a regular file (a FIFO or device is refused unopened) of at most RAW_MAX_MB whose
    array headers have the shapes and dtypes ``raw`` writes, within the ``raw --size`` and burst
    caps. After: a valid design, finite values, non-negative noise sigma, and the CFA, OCL phase map
    and frame count of that design.
    """
    from engine.sensor import RawCapture, cfa_pattern, ocl_phase_map

    file = fileio.check_input_file(path, "--raw", RAW_MAX_MB)
    where = repr(path)
    members = _check_raw_headers(fileio.npz_headers(file, "--raw"), where)
    arrays = fileio.load_npz(file, "--raw", tuple(members))
    design = _design_from_json(str(arrays.pop("design_json")), where)
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise UsageError(f"--raw: {where}: {name} holds NaN or infinite values")
    frames = arrays["shifts_px"].shape[0] if "shifts_px" in arrays else 1
    shape = arrays["cfa"].shape
    if (arrays["noise_sigma"] < 0).any():
        raise UsageError(f"--raw: {where}: noise_sigma must be >= 0")
    if frames != design.burst:
        raise UsageError(f"--raw: {where}: raw has {frames} frames but its design_json says burst {design.burst}")
    if not np.array_equal(arrays["cfa"], cfa_pattern(design.cfa, shape)):
        raise UsageError(f"--raw: {where}: cfa is not the {design.cfa} CFA its design_json names")
    if not np.array_equal(arrays["phase"], ocl_phase_map(shape)):
        raise UsageError(f"--raw: {where}: phase is not the 2x2 OCL phase map")
    return RawCapture(
        raw=arrays["raw"].astype(np.float32), noise_sigma=arrays["noise_sigma"].astype(np.float32),
        cfa=arrays["cfa"].astype(np.uint8), phase=arrays["phase"].astype(np.uint8),
        ground_truth=arrays["ground_truth"].astype(np.float32),
        shifts_px=arrays.get("shifts_px", np.zeros((1, 2))), rotations_deg=arrays.get("rotations_deg", np.zeros(1)),
        snr_db=design.snr_db, noise_model="gaussian", design=design,
    )


def _cmd_isp(args: argparse.Namespace) -> None:
    from PIL import Image

    from engine.isp import run_pipeline

    out = fileio.check_output_file(args.out, "--out", tuple(IMAGE_FORMATS))
    capture = load_capture(args.raw)
    try:
        image = run_pipeline(args.pipeline, capture, neural=args.neural)
    except ValueError as err:
        raise UsageError(f"isp --pipeline {args.pipeline}: {err}") from None
    with fileio.atomic_output(out, "--out") as handle:
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(handle, format=IMAGE_FORMATS[out.suffix.lower()])
    made_by = ""
    if args.pipeline == "neural":
        from engine.isp.neural import registry

        selection = registry.select(capture.design, args.neural)
        made_by = f" (made by the {selection['label']}" + (f"; {selection['warning']}" if selection["warning"] else "") + ")"
    print(f"{args.pipeline} -> {args.out}{made_by}")


def _cmd_mtf(args: argparse.Namespace) -> None:
    from engine import instruments
    from engine.isp import PIPELINES

    if args.pipeline not in PIPELINES:
        raise UsageError(f"mtf: --pipeline must be one of {', '.join(PIPELINES)}, got {args.pipeline!r}")
    design = design_from_args(args)
    _check_scene_fits(args.size, 0, design)
    update, bar = _progress_bar(f"MTF {args.pipeline}")
    try:
        results, skipped = instruments.measure_instruments(
            design, (args.pipeline,), size_px=args.size, count=args.count, seed=args.seed,
            edge_angle_deg=args.edge_angle_deg, edge_contrast=args.edge_contrast, neural=args.neural, progress=update)
    except ValueError as err:
        raise _engine_error("mtf", err, {"size_px": "--size", "count": "--count", "edge_angle_deg": "--edge-angle-deg",
                                         "edge_contrast": "--edge-contrast"}) from None
    finally:
        bar.close()
    if args.pipeline in skipped:
        raise UsageError(f"mtf: {skipped[args.pipeline]}")
    by_instrument = results[args.pipeline]
    out = {**by_instrument["grating"].to_dict(), "pipeline": args.pipeline, "design": design.to_dict(),
           "instruments": {name: result.to_dict() for name, result in by_instrument.items()}}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for name, label in instruments.INSTRUMENTS.items():
        measured = out["instruments"][name]
        print(f"{label}: MTF50 H {measured['mtf50_h_cyc_per_mm']}, V {measured['mtf50_v_cyc_per_mm']} cycles/mm "
              f"({args.pipeline})")


def _cmd_study(args: argparse.Namespace) -> None:
    from engine import study

    if (args.table is None) == (args.designs is None):
        raise UsageError("study: give either --table or --designs FILE")
    if args.designs is None and args.table not in study.STUDY_TABLES:
        raise UsageError(f"--table must be 2, 3, 5 or 6 (table 4 is not implemented yet), got {args.table}")
    if args.out is not None:
        fileio.check_output_folder(args.out, "--out")
    try:
        photo_scale = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
        if args.designs is not None:
            return _cmd_study_designs(args)
        report = study.run_study(args.table, quick=args.quick, max_images=args.max_images, images_dir=args.images,
                                 out_dir=args.out,
                                 neural=args.neural, progress_factory=_progress_bar, **photo_scale)
    except ValueError as err:
        raise _engine_error("study", err, {"source_pixel_um": "--source-pixel-um"}) from None
    print(json.dumps(report, indent=2) if args.json else study.format_report(report))


def _cmd_study_designs(args: argparse.Namespace) -> None:
    """study --designs FILE: the designs file through traditional, deconv and neural."""
    from engine import study_designs

    if args.images or args.source_pixel_um is not None:
        raise UsageError("study --designs uses the held-out photos at the Table 3 scale (no --images, --source-pixel-um)")
    file = fileio.check_input_file(args.designs, "--designs", 16)
    try:
        report = study_designs.run(file, quick=args.quick, max_images=args.max_images, out_dir=args.out, neural=args.neural,
                                   progress_factory=_progress_bar)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(json.dumps(report, indent=2) if args.json else study_designs.format_designs_report(report["rows"]))


def _cmd_train(args: argparse.Namespace) -> None:
    from engine.isp.neural import train as neural_train

    if args.universal:
        return _cmd_train_universal(args)
    design = _design_json(args.design_json) if args.design_json else design_from_args(args)
    if args.init == "universal":
        return _cmd_finetune(design, args)
    if args.out is None:
        raise UsageError("train: --out is required (a .pt weights file)")
    fileio.check_output_file(args.out, "--out", (".pt",))
    if args.device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {args.device!r}")
    if args.init is not None:
        _check_checkpoint(args.init)
    cfg = neural_train.TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, seed=args.seed)
    progress, bar = _step_bar(args.steps, f"train {design.design_hash()}")

    try:
        summary = neural_train.train([design], args.out, cfg, resume=args.resume, init=args.init,
                                     progress=progress, device=args.device, log=bar.write)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        val = summary.get("validation", {})
        print(f"trained {summary['steps']} steps in {summary['seconds']:.0f} s on {summary['threads']} threads -> "
              f"{args.out} (validation PSNR {val.get('psnr_linear_neural')} dB vs bilinear "
              f"{val.get('psnr_linear_bilinear')} dB, LPIPS {val.get('lpips_neural')})")


def _design_json(text: str) -> DesignPoint:
    try:
        return DesignPoint.from_dict(json.loads(text))
    except (json.JSONDecodeError, TypeError, AttributeError, KeyError) as err:
        raise UsageError(f"--design-json: not a design ({type(err).__name__}: {err})") from None


def _step_bar(total: int, desc: str):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(step: int, _total: int, loss: float | None) -> None:
        bar.update(step - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    return progress, bar


def _cmd_finetune(design: DesignPoint, args: argparse.Namespace) -> None:
    """train --init universal: fine-tune the universal net for ``design`` into the user folder."""
    from engine.isp.neural import finetune

    progress, bar = _step_bar(args.steps, f"fine-tune {design.design_hash()}")
    try:
        result = finetune.run_job(design, steps=args.steps, progress=progress)
    finally:
        bar.close()
    result.pop("entry", None)
    print(json.dumps(result) if args.json else f"fine-tune {result['state']} after {result['steps']} steps "
          f"({result['seconds']:.0f} s); weights in {finetune.user_weights_dir()}")


def _cmd_train_universal(args: argparse.Namespace) -> None:
    """train --universal: build (once) the random-design pool, train or resume, export with manifest."""
    from engine.isp.neural import registry, universal_data, universal_train
    from engine.isp.neural.train import TrainConfig

    out = fileio.check_output_file(args.out or str(registry.PRETRAINED_DIR / "neural_universal.pt"), "--out", (".pt",))
    pool = universal_data.pool_path(args.pool_designs, 160, args.seed)
    if not pool.exists():
        progress, bar = _step_bar(args.pool_designs * len(universal_data.KINDS), "training pool")
        try:
            universal_data.build_pool(pool, designs=args.pool_designs, seed=args.seed,
                                      progress=lambda d, t: progress(d, t, None))
        finally:
            bar.close()
    init = None if args.init is None else fileio.check_input_file(args.init, "--init", RAW_MAX_MB)
    cfg = TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, lr_final=args.lr / 10,
                      warmup=100, seed=args.seed, snr_range_db=universal_data.SNR_RANGE_DB)
    progress, bar = _step_bar(args.steps, "train universal")
    try:
        summary = universal_train.train_universal(pool, out.with_suffix(".ckpt"), cfg, init=init, resume=True,
                                                  progress=progress, log=bar.write)
    finally:
        bar.close()
    entry = universal_train.export_trained(out.with_suffix(".ckpt"), out)
    print(f"universal net: {summary['steps']} steps, {entry['training']['seconds']:.0f} s of training -> {out} "
          f"(validation PSNR {entry['validation']['psnr_linear_neural']} dB vs bilinear "
          f"{entry['validation']['psnr_linear_bilinear']} dB)")


def _check_checkpoint(path: str) -> None:
    """Refuse an ``--init`` that is not a readable training checkpoint (a dict of tensors)."""
    import pickle
    import warnings

    import torch

    file = fileio.check_input_file(path, "--init", RAW_MAX_MB)
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of a foreign file
            warnings.simplefilter("ignore")
            state = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, ValueError, EOFError) as err:
        raise UsageError(f"--init: {path!r} is not a checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise UsageError(f"--init: {path!r} is not a checkpoint (holds a {type(state).__name__}, not a dict)")


def _cmd_sweep(args: argparse.Namespace) -> None:
    from engine import sweep, sweep_grid, sweep_store

    csv_out = fileio.check_output_file(args.csv, "--csv", (".csv",)) if args.csv else None
    update, bar = _progress_bar("sweep tasks")
    try:
        summary = sweep.run_sweep(sweep_grid.load_grid(args.grid), args.out, scheduler=args.scheduler,
                                  workers=args.workers, progress=update)
    except sweep_grid.SweepError as err:
        raise UsageError(f"sweep: {err}") from None
    finally:
        bar.close()
    if csv_out:
        with fileio.atomic_output(csv_out, "--csv") as handle:
            handle.write(sweep_store.table_csv(args.out).encode())
        summary["csv"] = str(csv_out)
    print(json.dumps(summary, indent=2) if args.json else sweep.format_summary(summary))


BENCHMARKS = ("psf", "raw", "neural", "app")


def _cmd_bench(args: argparse.Namespace) -> None:
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    names = [n.strip() for n in args.only.split(",")] if args.only is not None else list(BENCHMARKS)
    unknown = [n or "''" for n in names if n not in BENCHMARKS]
    if unknown:  # '' too: an empty --only must not mean every benchmark
        raise UsageError(f"--only must list names from {', '.join(BENCHMARKS)}, got {', '.join(unknown)}")
    if not folder.is_dir():
        raise UsageError(f"bench: the benchmarks/ folder of a source checkout is needed, not found at {folder}")
    for name in names:
        print(f"== benchmarks/bench_{name}.py", flush=True)
        done = subprocess.run([sys.executable, str(folder / f"bench_{name}.py")], check=False)
        if done.returncode:
            raise UsageError(f"bench: benchmarks/bench_{name}.py exited with status {done.returncode}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m engine", description="smallpix engine: small-pixel camera simulation")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("presets", help="the five Table 1 design points")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_presets)

    p = commands.add_parser("psf", help="polychromatic OCL PSFs of a design")
    _add_design_options(p)
    p.add_number("--size", int, Allowed(16, 2048, "samples", 2), "PSF window (default 32 pixels x oversample)")
    p.add_number("--pupil-samples", int, Allowed(32, 4096, "samples"), "pupil samples across the reference aperture "
                 "(default 256)", default=256)
    p.add_number("--mono-nm", float, Allowed(350, 1000, "nm"), "single wavelength, all channels equal (validation)")
    p.add_argument("--out", help="write the PSF set to this .npz (atomically)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=_cmd_psf)

    p = commands.add_parser("raw", help="simulate a RAW capture of a scene")
    _add_design_options(p)
    p.add_argument("--scene", default="dead_leaves", help="a scene name (see engine.scenes.SCENE_NAMES) or image path")
    p.add_number("--size", int, Allowed(*RAW_SIDE_RANGE_PX, "pixels", 8),
                 "pixels per side (default 512; the scene must fit 4096 samples per side: at most 2016 at "
                 "--oversample 2)", default=512)
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of scene, motion and noise (default 0)", default=0)
    p.add_number("--source-pixel-um", float, Allowed(*SOURCE_PIXEL_RANGE_UM, "um"),
                 "photos: sensor-plane size of one image pixel")
    p.add_argument("--out", required=True, help="output .npz, or .dng (16-bit mosaic for RAW tools); written atomically")
    p.set_defaults(run=_cmd_raw)

    p = commands.add_parser("isp", help="process a RAW npz into an sRGB PNG")
    p.add_argument("--raw", required=True, help="an npz written by `raw` (sides in [%d, %d] pixels)" % RAW_SIDE_RANGE_PX)
    p.add_argument("--pipeline", choices=PIPELINES, default="traditional")
    _add_neural_option(p)
    p.add_argument("--out", required=True, help=f"output image: {', '.join(IMAGE_FORMATS)} (written atomically)")
    p.set_defaults(run=_cmd_isp)

    p = commands.add_parser("mtf", help="MTF of a design through a pipeline (sinusoid gratings, ISO 12233 e-SFR, "
                                        "dead-leaves texture)")
    _add_design_options(p)
    p.add_argument("--pipeline", default="traditional", help=f"one of {', '.join(PIPELINES)} (default traditional)")
    _add_neural_option(p)
    p.add_argument("--edge-angle-deg", type=float, default=5.0,
                   help="e-SFR edge angle off vertical (H) and off horizontal (V), degrees in [2, 20] (default 5)")
    p.add_argument("--edge-contrast", type=float, default=4.0,
                   help="e-SFR edge bright : dark reflectance ratio in [1.5, 100] (default 4, ISO 12233 low contrast)")
    p.add_number("--size", int, Allowed(32, 1024, "pixels", 8), "simulated window (default 128)", default=128)
    p.add_number("--count", int, Allowed(2, 128), "number of grating frequencies (default 24)", default=24)
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of the noise (default 0)", default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_mtf)

    p = commands.add_parser("study", help="reproduce a table of the paper beside its numbers")
    p.add_argument("--table", type=int,
                   help="2 (MTF50), 3 (MS-SSIM / LPIPS), 5 (Table 3's metrics at a fixed F/2.6 aperture) or 6 "
                        "(every Table 6 phone at its own pitch and F#)")
    p.add_number("--max-images", int, Allowed(1, 1000), "tables 3, 5 and --designs: only the first N photos")
    p.add_argument("--designs", help="instead of a table: every design of this JSON file (e.g. "
                                     "assets/heldout_designs.json) through traditional, deconv and neural")
    _add_neural_option(p)
    p.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes)")
    p.add_argument("--images", help="table 3 or 5 on your own photos in this folder instead of the held-out set")
    p.add_number("--source-pixel-um", float, Allowed(*SOURCE_PIXEL_RANGE_UM, "um"),
                 "tables 3 and 5: size of one photo pixel on the sensor (default 0.35, native resolution at the "
                 "finest pitch; larger shows the finer designs magnified photos)")
    p.add_argument("--out", help="write CSV and figures (PNG, SVG) here")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_study)

    p = commands.add_parser("sweep", help="measure a grid of designs on Dask into a Zarr store (resumable)")
    p.add_argument("--grid", required=True, help="grid file, .toml or .json (README 'Sweeps')")
    p.add_argument("--out", required=True, help="result store, a .zarr folder (rerun the command to resume)")
    p.add_argument("--scheduler", help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster worker processes (default: one per core)")
    p.add_argument("--csv", help="also write the results as a flat CSV table to this file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_cmd_sweep)

    p = commands.add_parser("bench", help="run the benchmark scripts (each prints times and ratios vs a baseline)")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    p.set_defaults(run=_cmd_bench)

    p = commands.add_parser("train", help="train the Neural ISP for a design (weights + manifest entry)")
    _add_design_options(p)
    p.add_number("--steps", int, Allowed(1, 1_000_000), "Adam steps of this run (with --init: the fine-tune steps; "
                 "default 3000)", default=3000)
    p.add_number("--batch", int, Allowed(1, 256), "crops per step (default 6)", default=6)
    p.add_number("--crop", int, Allowed(16, 512, "pixels", 8), "crop size (default 112)", default=112)
    p.add_number("--lr", float, Allowed(1e-6, 1.0), "peak learning rate (cosine decay to 1e-4, default 1e-3)",
                 default=1e-3)
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of initialisation, crops and noise (default 0)", default=0)
    p.add_argument("--out", help="weights file, e.g. pretrained/neural_<hash>.pt (checkpoint: .ckpt beside it); "
                                 "with --universal default pretrained/neural_universal.pt")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    p.add_argument("--init", help="start from this checkpoint (.ckpt), e.g. a shared base model; 'universal': "
                                  "fine-tune the universal net for the design into the user weights folder "
                                  "($SMALLPIX_USER_WEIGHTS), as the app's 'Train a Neural ISP for this design' does")
    p.add_argument("--universal", action="store_true",
                   help="train the universal (PSF-conditioned) net on a pool of random designs instead")
    p.add_number("--pool-designs", int, Allowed(1, 5000), "--universal: random designs in the training pool "
                 "(default 200)", default=200)
    p.add_argument("--design-json", help="the design as DesignPoint JSON (overrides the design options)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_cmd_train)
    return parser


def error_line(err: Exception) -> str | None:
    """The one line printed for an error the user caused; None for anything else (a bug, which keeps
    its traceback)."""
    if isinstance(err, DesignError):
        text = f"{FIELD_OPTIONS.get(err.field_name.split(' ')[0], err.field_name)}: {err}"
    elif isinstance(err, (UsageError, fileio.FileArgumentError)):
        text = str(err)
    elif isinstance(err, FileNotFoundError) or _is_weights_error(err):
        text = f"python -m engine: {err}"
    else:
        return None
    return " ".join(text.split())


def _is_weights_error(err: Exception) -> bool:
    """A weight file or manifest that fails verification (only possible once the registry is imported,
    so the check does not import torch)."""
    registry = sys.modules.get("engine.isp.neural.registry")
    return registry is not None and isinstance(err, registry.WeightsError)


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory_in_heap()
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except Exception as err:
        line = error_line(err)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2
    return 0
