"""Command-line interface: ``python -m engine <command> ...`` (contract in design.md 4).

Bad values exit with status 2 and one line naming the option, the allowed range and the value.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from engine.design import DEFAULT_PRESET, DesignError, DesignPoint, OCLOffsets, parse_zernike, preset, presets

# DesignPoint field -> the CLI option that sets it, for error messages.
FIELD_OPTIONS = {
    "preset": "--preset", "pitch_um": "--pitch-um", "f_number": "--f-number", "f_number_ref": "--f-number-ref",
    "zernike": "--zernike", "oversample": "--oversample", "cfa": "--cfa", "snr_db": "--snr-db", "flux": "--flux",
    "fill_factor": "--fill-factor", "burst": "--burst", "ocl.tilt_waves": "--ocl-tilt", "ocl.coma_waves": "--ocl-coma",
}


class UsageError(Exception):
    """A bad command-line value; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2 (argparse prints usage + message otherwise)
        raise UsageError(f"{self.prog}: {message}")


def _add_design_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("design (a Table 1 preset, then overrides)")
    g.add_argument("--preset", help=f"Table 1 design by pitch: {', '.join(presets())} (default {DEFAULT_PRESET})")
    g.add_argument("--pitch-um", type=float, help="pixel pitch, micrometres [0.2, 2.0]")
    g.add_argument("--f-number", type=float, help="working F# [f_number_ref, 16]")
    g.add_argument("--f-number-ref", type=float, help="F# of the reference pupil the wavefront is defined on")
    g.add_argument("--zernike", help="'Z4=0.05,Z11=-0.1' (waves at 550 nm, Noll) replacing the lens, or 'none'")
    g.add_argument("--oversample", type=int, help="image-plane samples per pixel pitch [1, 16]")
    g.add_argument("--no-ocl", action="store_true", help="one PSF for all four 2x2 on-chip-lens phases")
    g.add_argument("--ocl-tilt", type=float, help="OCL tilt offset per phase, waves at 550 nm")
    g.add_argument("--ocl-coma", type=float, help="OCL coma offset per phase, waves at 550 nm")
    g.add_argument("--cfa", help="colour filter array: hex | quad | bayer")
    g.add_argument("--snr-db", type=float, help="shot-noise SNR at the reference level, dB [0, 60]")
    g.add_argument("--flux", help="hold | physical")
    g.add_argument("--fill-factor", type=float, help="pixel aperture width / pitch (0.05, 1]")
    g.add_argument("--burst", type=int, help="frames per capture [1, 16]")


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


def _cmd_psf(args: argparse.Namespace) -> None:
    from engine import optics

    design = design_from_args(args)
    if args.mono_nm is not None and not 350.0 <= args.mono_nm <= 1000.0:
        raise UsageError(f"--mono-nm must be in [350, 1000] nm, got {args.mono_nm:g}")
    try:
        psfs = optics.compute_psfs(design, size=args.size, pupil_samples=args.pupil_samples, mono_nm=args.mono_nm)
        reference = optics.compute_psfs(
            optics.diffraction_limited(design), size=args.size, pupil_samples=args.pupil_samples, mono_nm=args.mono_nm
        )
    except ValueError as err:
        raise UsageError(f"psf: {err}") from None
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            args.out,
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
        "size": args.size,
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
            f"PSF {args.size}x{args.size} at {psfs.dx_um:.4f} um/sample, RMS wavefront "
            f"{summary['wavefront_rms_waves_550nm']:.3f} waves, Strehl {summary['strehl_per_channel']}, "
            f"FWHM {summary['fwhm_um_per_channel']} um, {psfs.timings_s['total']:.3f} s"
            + (f" -> {args.out}" if args.out else "")
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m engine", description="smallpix engine: small-pixel camera simulation")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("presets", help="the five Table 1 design points")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_presets)

    p = commands.add_parser("psf", help="polychromatic OCL PSFs of a design")
    _add_design_options(p)
    p.add_argument("--size", type=int, default=128, help="PSF window, samples (even, default 128)")
    p.add_argument("--pupil-samples", type=int, default=256, help="pupil samples across the reference aperture")
    p.add_argument("--mono-nm", type=float, help="single wavelength, nm, all channels equal (validation)")
    p.add_argument("--out", help="write the PSF set to this .npz")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=_cmd_psf)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except DesignError as err:
        option = FIELD_OPTIONS.get(err.field_name.split(" ")[0], err.field_name)
        print(f"{option}: {err}", file=sys.stderr)
        return 2
    return 0
