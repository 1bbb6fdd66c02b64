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
from engine.parallel import keep_freed_memory_in_heap

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

    bar = tqdm(total=1, desc=description, unit="step", file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update, bar


def _cmd_raw(args: argparse.Namespace) -> None:
    from engine.simulate import capture_scene

    design = design_from_args(args)
    params = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
    try:
        capture = capture_scene(design, args.scene, args.size, seed=args.seed, **params)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(f"raw: {err}") from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    capture.to_npz(args.out)
    print(f"RAW {capture.raw.shape} {design.cfa} at {design.pitch_um} um, SNR {capture.snr_db:.1f} dB -> {args.out}")


def load_capture(path: str):
    """A RawCapture from an npz written by ``raw`` (clear errors for anything else)."""
    from engine.sensor import RawCapture

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise UsageError(f"--raw: cannot read {path!r} as .npz ({err})") from None
    required = ("raw", "noise_sigma", "cfa", "phase", "ground_truth", "design_json")
    missing = [k for k in required if k not in data.files]
    if missing:
        raise UsageError(f"--raw: {path!r} is not a smallpix RAW npz: missing {', '.join(missing)}")
    design = DesignPoint.from_dict(json.loads(str(data["design_json"])))
    raw = data["raw"]
    frames = raw.shape[0] if raw.ndim == 3 else 1
    return RawCapture(
        raw=raw, noise_sigma=data["noise_sigma"], cfa=data["cfa"], phase=data["phase"],
        ground_truth=data["ground_truth"], shifts_px=data["shifts_px"] if "shifts_px" in data.files else np.zeros((1, 2)),
        rotations_deg=data["rotations_deg"] if "rotations_deg" in data.files else np.zeros(frames),
        snr_db=design.snr_db, noise_model="gaussian", design=design,
    )


def _cmd_isp(args: argparse.Namespace) -> None:
    from PIL import Image

    from engine.isp import run_pipeline

    capture = load_capture(args.raw)
    try:
        image = run_pipeline(args.pipeline, capture)
    except ValueError as err:
        raise UsageError(f"isp: {err}") from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(args.out)
    print(f"{args.pipeline} -> {args.out}")


def _cmd_mtf(args: argparse.Namespace) -> None:
    from engine.study import measure_mtf

    design = design_from_args(args)
    update, bar = _progress_bar(f"MTF {args.pipeline}")
    try:
        result = measure_mtf(design, (args.pipeline,), size_px=args.size, count=args.count, seed=args.seed,
                             progress=update)[args.pipeline]
    except ValueError as err:
        raise UsageError(f"mtf: {err}") from None
    finally:
        bar.close()
    out = {**result.to_dict(), "pipeline": args.pipeline, "design": design.to_dict()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"MTF50 H {out['mtf50_h_cyc_per_mm']} cycles/mm, V {out['mtf50_v_cyc_per_mm']} cycles/mm ({args.pipeline})")


def _cmd_study(args: argparse.Namespace) -> None:
    from engine import study

    if args.table not in study.STUDY_TABLES:
        raise UsageError(f"--table must be 2, 3 or 5 (tables 4 and 6 are not implemented yet), got {args.table}")
    try:
        photo_scale = {} if args.source_pixel_um is None else {"source_pixel_um": args.source_pixel_um}
        report = study.run_study(args.table, quick=args.quick, images_dir=args.images, out_dir=args.out,
                                 progress_factory=_progress_bar, **photo_scale)
    except ValueError as err:
        raise UsageError(f"study: {err}") from None
    print(json.dumps(report, indent=2) if args.json else study.format_report(report))


def _cmd_train(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from engine.isp.neural import train as neural_train

    design = design_from_args(args)
    for name, value, lo in (("--steps", args.steps, 1), ("--batch", args.batch, 1), ("--crop", args.crop, 16)):
        if value < lo:
            raise UsageError(f"{name} must be at least {lo}, got {value}")
    if args.crop % 8:
        raise UsageError(f"--crop must be a multiple of 8 pixels (the CFA period), got {args.crop}")
    if not args.out.endswith(".pt"):
        raise UsageError(f"--out must be a .pt weights path (e.g. pretrained/neural_<hash>.pt), got {args.out!r}")
    if args.device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {args.device!r}")
    if args.init and not Path(args.init).exists():
        raise UsageError(f"--init: no checkpoint at {args.init!r}")
    cfg = neural_train.TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, seed=args.seed)
    bar = tqdm(total=args.steps, desc=f"train {design.design_hash()}", unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(step: int, total: int, loss: float) -> None:
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

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


BENCHMARKS = ("psf", "raw", "neural", "app")


def _cmd_bench(args: argparse.Namespace) -> None:
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
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
    p.add_argument("--size", type=int, help="PSF window, samples (even; default 32 pixels x oversample)")
    p.add_argument("--pupil-samples", type=int, default=256, help="pupil samples across the reference aperture")
    p.add_argument("--mono-nm", type=float, help="single wavelength, nm, all channels equal (validation)")
    p.add_argument("--out", help="write the PSF set to this .npz")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=_cmd_psf)

    p = commands.add_parser("raw", help="simulate a RAW capture of a scene")
    _add_design_options(p)
    p.add_argument("--scene", default="dead_leaves", help="a scene name (see engine.scenes.SCENE_NAMES) or image path")
    p.add_argument("--size", type=int, default=512, help="pixels per side, a multiple of 8 (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seed of scene, motion and noise")
    p.add_argument("--source-pixel-um", type=float, help="photos: sensor-plane size of one image pixel, um")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(run=_cmd_raw)

    p = commands.add_parser("isp", help="process a RAW npz into an sRGB PNG")
    p.add_argument("--raw", required=True, help="an npz written by `raw`")
    p.add_argument("--pipeline", choices=("demosaic", "traditional", "neural"), default="traditional")
    p.add_argument("--out", required=True, help="output PNG")
    p.set_defaults(run=_cmd_isp)

    p = commands.add_parser("mtf", help="MTF of a design through a pipeline (sinusoidal gratings)")
    _add_design_options(p)
    p.add_argument("--pipeline", choices=("demosaic", "traditional", "neural"), default="traditional")
    p.add_argument("--size", type=int, default=128, help="simulated window, pixels (default 128)")
    p.add_argument("--count", type=int, default=24, help="number of grating frequencies (default 24)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_mtf)

    p = commands.add_parser("study", help="reproduce a table of the paper beside its numbers")
    p.add_argument("--table", type=int, required=True,
                   help="2 (MTF50), 3 (MS-SSIM / LPIPS) or 5 (Table 3's metrics at a fixed F/2.6 aperture)")
    p.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes)")
    p.add_argument("--images", help="table 3 or 5 on your own photos in this folder instead of the held-out set")
    p.add_argument("--source-pixel-um", type=float,
                   help="tables 3 and 5: size of one photo pixel on the sensor in um (default 0.35, native "
                        "resolution at the finest pitch; larger shows the finer designs magnified photos)")
    p.add_argument("--out", help="write CSV and figures (PNG, SVG) here")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_study)

    p = commands.add_parser("bench", help="run the benchmark scripts (each prints times and ratios vs a baseline)")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    p.set_defaults(run=_cmd_bench)

    p = commands.add_parser("train", help="train the Neural ISP for a design (weights + manifest entry)")
    _add_design_options(p)
    p.add_argument("--steps", type=int, default=3000, help="Adam steps of this run (with --init: the fine-tune steps; default 3000)")
    p.add_argument("--batch", type=int, default=6, help="crops per step (default 6)")
    p.add_argument("--crop", type=int, default=112, help="crop size, pixels, a multiple of 8 (default 112)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay to 1e-4, default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, crops and noise")
    p.add_argument("--out", required=True, help="weights file, e.g. pretrained/neural_<hash>.pt (checkpoint: .ckpt beside it)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    p.add_argument("--init", help="start from this checkpoint (.ckpt), e.g. a shared base model")
    p.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory_in_heap()
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"python -m engine: {err}", file=sys.stderr)
        return 2
    except DesignError as err:
        option = FIELD_OPTIONS.get(err.field_name.split(" ")[0], err.field_name)
        print(f"{option}: {err}", file=sys.stderr)
        return 2
    return 0
