"""Command-line interface: ``python -m engine <command> ...`` (contract in design.md 4).

Error contract (README, "CLI error contract"): every failure a user can cause exits with status 2
and one line naming the option, the allowed range and the value given; :func:`main` is the one place
that turns such errors into that line (:func:`error_line`). Numeric options declare their range
once (:class:`Allowed`, shown in ``--help`` and checked right after parsing, before any work or
progress bar); output paths are checked before the work and written atomically to exactly the path
given (:mod:`engine.fileio`); a RAW npz is size-checked from its headers before it is loaded.

This module holds the parser and :func:`main`; the commands live by job in ``engine.cli_capture``
(presets, psf, raw, isp), ``engine.cli_measure`` (mtf, study, sweep, bench) and ``engine.cli_train``
(train), their shared parts in ``engine.cli_options``.
"""

from __future__ import annotations

import argparse
import sys

from engine import cli_capture, cli_measure, cli_train, fileio
from engine.cli_capture import IMAGE_FORMATS
from engine.cli_measure import BENCHMARKS
from engine.cli_options import (
    RAW_SIDE_RANGE_PX,
    SEED_RANGE,
    SOURCE_PIXEL_RANGE_UM,
    Allowed,
    Parser,
    UsageError,
    add_design_options,
    add_neural_option,
)
from engine.isp import PIPELINES
from engine.parallel import keep_freed_memory_in_heap
from engine.validation import InputError

TRAIN = cli_train.TRAIN_DEFAULTS

# Input field (engine.validation.InputError.field_name; its first word where a qualifier follows, as in
# "zernike Z4" or "scene image") -> the CLI option that sets it, for error messages.
FIELD_OPTIONS = {
    "preset": "--preset", "pitch_um": "--pitch-um", "f_number": "--f-number", "f_number_ref": "--f-number-ref",
    "zernike": "--zernike", "oversample": "--oversample", "cfa": "--cfa", "snr_db": "--snr-db", "flux": "--flux",
    "fill_factor": "--fill-factor", "burst": "--burst", "ocl.tilt_waves": "--ocl-tilt", "ocl.coma_waves": "--ocl-coma",
    "scene": "--scene", "source_pixel_um": "--source-pixel-um",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, each with its options; ``run`` is set to the command's function."""
    parser = Parser(prog="python -m engine", description="smallpix engine: small-pixel camera simulation")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = commands.add_parser("presets", help="the five Table 1 design points")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cli_capture.cmd_presets)

    p = commands.add_parser("psf", help="polychromatic OCL PSFs of a design")
    add_design_options(p)
    p.add_number("--size", int, Allowed(16, 2048, "samples", 2), "PSF window (default 32 pixels x oversample, "
                 "wider for a slow lens: at least 12 lambda F#)")
    p.add_number("--pupil-samples", int, Allowed(32, 4096, "samples"), "pupil samples across the reference aperture "
                 "(default 256, more where the PSF window needs it)", default=None)
    p.add_number("--mono-nm", float, Allowed(350, 1000, "nm"), "single wavelength, all channels equal (validation)")
    p.add_argument("--out", help="write the PSF set to this .npz (atomically)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=cli_capture.cmd_psf)

    p = commands.add_parser("raw", help="simulate a RAW capture of a scene")
    add_design_options(p)
    p.add_argument("--scene", default="dead_leaves", help="a scene name (see engine.scenes.SCENE_NAMES) or image path")
    p.add_number("--size", int, Allowed(*RAW_SIDE_RANGE_PX, "pixels", 8),
                 "pixels per side (default 512; the scene must fit 4096 samples per side: at most 2016 at "
                 "--oversample 2)", default=512)
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of scene, motion and noise (default 0)", default=0)
    p.add_number("--source-pixel-um", float, Allowed(*SOURCE_PIXEL_RANGE_UM, "um"),
                 "photos: sensor-plane size of one image pixel")
    p.add_argument("--out", required=True, help="output .npz, or .dng (16-bit mosaic for RAW tools); written atomically")
    p.set_defaults(run=cli_capture.cmd_raw)

    p = commands.add_parser("isp", help="process a RAW npz into an sRGB PNG")
    p.add_argument("--raw", required=True, help="an npz written by `raw` (sides in [%d, %d] pixels)" % RAW_SIDE_RANGE_PX)
    p.add_argument("--pipeline", choices=PIPELINES, default="traditional")
    add_neural_option(p)
    p.add_argument("--out", required=True, help=f"output image: {', '.join(IMAGE_FORMATS)} (written atomically)")
    p.set_defaults(run=cli_capture.cmd_isp)

    p = commands.add_parser("mtf", help="MTF of a design through a pipeline (sinusoid gratings, ISO 12233 e-SFR, "
                                        "dead-leaves texture)")
    add_design_options(p)
    p.add_argument("--pipeline", default="traditional", help=f"one of {', '.join(PIPELINES)} (default traditional)")
    add_neural_option(p)
    p.add_argument("--edge-angle-deg", type=float, default=5.0,
                   help="e-SFR edge angle off vertical (H) and off horizontal (V), degrees in [2, 20] (default 5)")
    p.add_argument("--edge-contrast", type=float, default=4.0,
                   help="e-SFR edge bright : dark reflectance ratio in [1.5, 100] (default 4, ISO 12233 low contrast)")
    p.add_number("--size", int, Allowed(32, 1024, "pixels", 8), "simulated window (default 128)", default=128)
    p.add_number("--count", int, Allowed(2, 128), "number of grating frequencies (default 24)", default=24)
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of the noise (default 0)", default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cli_measure.cmd_mtf)

    p = commands.add_parser("study", help="reproduce a table of the paper beside its numbers")
    p.add_argument("--table", type=int,
                   help="2 (MTF50), 3 (MS-SSIM / LPIPS), 5 (Table 3's metrics at a fixed F/2.6 aperture) or 6 "
                        "(every Table 6 phone at its own pitch and F#)")
    p.add_number("--max-images", int, Allowed(1, 1000), "tables 3, 5 and --designs: only the first N photos")
    p.add_argument("--designs", help="instead of a table: every design of this JSON file (e.g. "
                                     "assets/heldout_designs.json) through traditional, deconv and neural")
    add_neural_option(p)
    p.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes)")
    p.add_argument("--images", help="table 3 or 5 on your own photos in this folder instead of the held-out set")
    p.add_number("--source-pixel-um", float, Allowed(*SOURCE_PIXEL_RANGE_UM, "um"),
                 "tables 3 and 5: size of one photo pixel on the sensor (default 0.35, native resolution at the "
                 "finest pitch; larger shows the finer designs magnified photos)")
    p.add_argument("--out", help="write CSV and figures (PNG, SVG) here")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cli_measure.cmd_study)

    p = commands.add_parser("sweep", help="measure a grid of designs on Dask into a Zarr store (resumable)")
    p.add_argument("--grid", required=True, help="grid file, .toml or .json (README 'Sweeps')")
    p.add_argument("--out", required=True, help="result store, a .zarr folder (rerun the command to resume)")
    p.add_argument("--scheduler", help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster worker processes (default: one per core)")
    p.add_argument("--csv", help="also write the results as a flat CSV table to this file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=cli_measure.cmd_sweep)

    p = commands.add_parser("bench", help="run the benchmark scripts (each prints times and ratios vs a baseline)")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    p.set_defaults(run=cli_measure.cmd_bench)

    p = commands.add_parser("train", help="train the Neural ISP for a design (weights + manifest entry)")
    add_design_options(p)
    p.add_number("--steps", int, Allowed(1, 1_000_000), "Adam steps of this run (with --init: the fine-tune steps; "
                 f"default {cli_train.DEFAULT_STEPS}; with --init universal the app's fine-tune length, about "
                 "2.5 minutes on 2 cores)", default=None)
    p.add_number("--batch", int, Allowed(1, 256), f"crops per step (default {TRAIN['batch']})", default=TRAIN["batch"])
    p.add_number("--crop", int, Allowed(16, 512, "pixels", 8), f"crop size (default {TRAIN['crop']})",
                 default=TRAIN["crop"])
    p.add_number("--lr", float, Allowed(1e-6, 1.0), "peak learning rate (cosine decay to --lr-final; default "
                 f"{cli_train.DEFAULT_LR:g}; with --init universal the app's fine-tune rate, decaying to a tenth)",
                 default=None)
    p.add_number("--lr-final", float, Allowed(1e-7, 1.0), "learning rate at the end of the cosine (default "
                 f"{TRAIN['lr_final']:g})", default=TRAIN["lr_final"])
    p.add_number("--perceptual-weight", float, Allowed(0.0, 10.0), "weight of the LPIPS term in the loss, beside "
                 "L1 (default 0: L1 only)", default=TRAIN["perceptual_weight"])
    p.add_number("--train-snr-min-db", float, Allowed(0.0, 60.0), "lowest per-step training SNR, dB (default "
                 f"{TRAIN['train_snr_min_db']:g})", default=TRAIN["train_snr_min_db"])
    p.add_number("--train-snr-max-db", float, Allowed(0.0, 60.0), "highest per-step training SNR, dB (default "
                 f"{TRAIN['train_snr_max_db']:g})", default=TRAIN["train_snr_max_db"])
    p.add_argument("--photo-magnification", type=float, nargs=2, metavar=("LO", "HI"),
                   help="one training photo pixel on the sensor, in pixel pitches, log-uniform in [LO, HI], "
                        "0.1 <= LO <= HI <= 10 (default 0.5 1: every view holds detail up to the design's Nyquist "
                        "frequency)")
    p.add_number("--seed", int, Allowed(*SEED_RANGE), "seed of initialisation, crops and noise (default 0)",
                 default=TRAIN["seed"])
    p.add_argument("--out", help="weights file, e.g. pretrained/neural_<hash>.pt (checkpoint: .ckpt beside it); "
                                 "with --universal default pretrained/neural_universal.pt")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    p.add_argument("--init", help="start from this checkpoint (.ckpt) or weights (pretrained/*.pt), e.g. a shared "
                                  "base model or the design's shipped net; 'universal': "
                                  "fine-tune the universal net for the design into the user weights folder "
                                  "($SMALLPIX_USER_WEIGHTS), as the app's 'Train a Neural ISP for this design' does")
    p.add_argument("--universal", action="store_true",
                   help="train the universal (PSF-conditioned) net on a pool of random designs instead")
    p.add_number("--pool-designs", int, Allowed(1, 5000), "--universal: random designs in the training pool "
                 f"(default {TRAIN['pool_designs']})", default=TRAIN["pool_designs"])
    p.add_argument("--design-json", help="the design as DesignPoint JSON (overrides the design options)")
    p.add_argument("--device", default=TRAIN["device"], help="auto (CUDA when present) | cpu | cuda")
    p.add_number("--workers", int, Allowed(0, 64), "--universal: processes that build the pool (in as many parts) "
                 "and draw the batches, for a GPU that outruns one (default 0: all in this process, "
                 "bit-reproducible across resumes)", default=0)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=cli_train.cmd_train)
    return parser


def error_line(err: Exception) -> str | None:
    """The one line printed for an error the user caused; None for anything else (a bug, which keeps
    its traceback). An input error of the engine (the whole :class:`~engine.validation.InputError`
    family: design, scene, sensor) is prefixed with the option that sets its field."""
    if isinstance(err, InputError):
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
    """Run the command ``argv`` (default: sys.argv[1:]); returns the exit status: 0, or 2 after
    printing the one-line error of a failure the user caused (anything else raises)."""
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
