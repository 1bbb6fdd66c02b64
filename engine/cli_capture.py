"""The ``presets``, ``psf``, ``raw`` and ``isp`` commands: a design's PSFs, a RAW capture of a scene,
and a RAW npz (read back with every check of :func:`load_capture`) through a pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np

from engine import fileio
from engine.cli_options import (
    RAW_MAX_MB,
    RAW_SIDE_RANGE_PX,
    UsageError,
    check_neural_applies,
    check_scene_fits,
    design_from_args,
    engine_error,
    neural_net,
)
from engine.design import BURST_RANGE, DesignPoint, OCLOffsets, presets
from engine.validation import InputError

DESIGN_JSON_MAX_CHARS = 65536
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
PSF_WORK_WARNING = 2e11  # complex multiply-adds, ~250x the default PSF set of the 0.35 um preset


def cmd_presets(args: argparse.Namespace) -> None:
    """``presets``: the Table 1 designs, one line each or JSON."""
    rows = [{"name": name, **d.to_dict(), "design_hash": d.design_hash()} for name, d in presets().items()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['name']}: pitch {row['pitch_um']} um, F/{row['f_number']}, CFA {row['cfa']}, SNR {row['snr_db']} dB")


def _psf_work(optics, design: DesignPoint, size: int, pupil_samples: int, mono_nm: float | None) -> float:
    """Complex multiply-adds of ``psf``: per wavelength and OCL phase, for the PSFs and their
    diffraction-limited reference, (S x M) @ (M x M) and (S x M) @ (M x S), M the pupil rows inside
    the working pupil."""
    rows = pupil_samples * design.pupil_fraction
    wavelengths = 1 if mono_nm is not None else optics.WAVELENGTHS_NM.size
    return 2 * wavelengths * optics.N_PHASES * size * rows * (rows + size)


def cmd_psf(args: argparse.Namespace) -> None:
    """``psf``: the design's polychromatic OCL PSFs, summarised (Strehl, FWHM in um), optionally saved as npz."""
    from engine import optics

    design = design_from_args(args)
    out = fileio.check_output_file(args.out, "--out", (".npz",)) if args.out is not None else None
    size = optics.psf_size(design) if args.size is None else args.size
    pupil = optics.pupil_samples_for(design, size) if args.pupil_samples is None else args.pupil_samples
    work = _psf_work(optics, design, size, pupil, args.mono_nm)
    if work > PSF_WORK_WARNING:
        print(f"psf: warning: --size {size} with --pupil-samples {pupil} is {work:.1e} complex "
              "multiply-adds; this can take minutes (lower either for a quick look)", file=sys.stderr)
    try:
        psfs = optics.compute_psfs(design, size=size, pupil_samples=pupil, mono_nm=args.mono_nm)
        reference = optics.compute_psfs(optics.diffraction_limited(design), size=size, pupil_samples=pupil,
                                        mono_nm=args.mono_nm)
    except ValueError as err:
        raise engine_error("psf", err, {"pupil_samples": "--pupil-samples", "oversample": "--oversample"}) from None
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
        "wavefront_rms_waves_550nm": optics.wavefront_rms_waves(design, pupil),
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


def cmd_raw(args: argparse.Namespace) -> None:
    """``raw``: a RAW capture of ``--scene`` through the design, written as npz or DNG."""
    from engine import optics
    from engine.simulate import capture_scene, margin_px

    design = design_from_args(args)
    out = fileio.check_output_file(args.out, "--out", (".npz", ".dng"))
    check_scene_fits(args.size, margin_px(design, optics.psf_size(design)), design)
    params = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
    try:
        capture = capture_scene(design, args.scene, args.size, seed=args.seed, **params)
    except (ValueError, FileNotFoundError) as err:
        raise engine_error("raw", err, {"source_pixel_um": "--source-pixel-um", "oversample": "--oversample",
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
    except InputError as err:
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


def cmd_isp(args: argparse.Namespace) -> None:
    """``isp``: a RAW npz through ``--pipeline`` to an 8-bit sRGB image."""
    from PIL import Image

    from engine.isp import run_pipeline

    check_neural_applies("isp", args.pipeline, args.neural)
    out = fileio.check_output_file(args.out, "--out", tuple(IMAGE_FORMATS))
    capture = load_capture(args.raw)
    try:
        image = run_pipeline(args.pipeline, capture, neural=args.neural)
    except ValueError as err:
        raise UsageError(f"isp --pipeline {args.pipeline}: {err}") from None
    with fileio.atomic_output(out, "--out") as handle:
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(handle, format=IMAGE_FORMATS[out.suffix.lower()])
    made_by = f" (made by the {neural_net(capture.design, args.neural)['summary']})" if args.pipeline == "neural" else ""
    print(f"{args.pipeline} -> {args.out}{made_by}")
