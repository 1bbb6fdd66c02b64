"""The command line's shared parts: its error, the ranges of its options, the parser that checks
them, the design options, and the wording of engine errors in option terms (see engine/cli.py)."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from engine.design import (
    BURST_RANGE,
    DEFAULT_PRESET,
    F_NUMBER_MAX,
    F_NUMBER_REF_RANGE,
    OCL_MAX_WAVES,
    OVERSAMPLE_RANGE,
    PITCH_RANGE_UM,
    SNR_RANGE_DB,
    DesignPoint,
    OCLOffsets,
    parse_zernike,
    preset,
    presets,
)
from engine.isp import NEURAL_CHOICES


class UsageError(Exception):
    """A bad command-line value; printed as one line, exit status 2."""


SEED_RANGE = (0, 2**32 - 1)
SOURCE_PIXEL_RANGE_UM = (0.1, 2.0)  # photo pixel on the sensor (raw, study)
RAW_SIDE_RANGE_PX = (16, 2048)  # `raw --size`; also the cap on a RAW npz read by `isp --raw`
RAW_MAX_MB = 1024  # largest file `isp --raw` and `train --init` read


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


class Parser(argparse.ArgumentParser):
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


def add_neural_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--neural", choices=NEURAL_CHOICES, default="auto",
                        help="which Neural ISP: auto (the per-design net where one was trained for the design, else "
                             "the universal net), design, universal (default auto)")


def neural_net(design: DesignPoint, choice: str) -> dict:
    """Which Neural ISP serves ``design`` under ``choice`` (registry.select), as the CLI reports it:
    kind, label (the net and its training range), warning (outside that range, or None), weights file
    and its sha256; ``summary`` the label and warning in one phrase."""
    from engine.isp.neural import registry

    selection = registry.select(design, choice)
    return {"kind": selection["kind"], "label": selection["label"], "warning": selection["warning"],
            "file": selection["entry"]["file"], "sha256": selection["entry"]["sha256"],
            "summary": selection["label"] + (f"; {selection['warning']}" if selection["warning"] else "")}


def check_neural_applies(command: str, pipeline: str, neural: str) -> None:
    """Refuse ``--neural`` set (not auto) for a pipeline other than neural, which would ignore it."""
    if neural != "auto" and pipeline != "neural":
        raise UsageError(f"{command}: --neural {neural} applies to --pipeline neural, got --pipeline {pipeline}")


def add_design_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("design (a Table 1 preset, then overrides)")
    g.add_argument("--preset", help=f"Table 1 design by pitch: {', '.join(presets())} (default {DEFAULT_PRESET})")
    g.add_argument("--pitch-um", type=float, help="pixel pitch, in [%g, %g] um" % PITCH_RANGE_UM)
    g.add_argument("--f-number", type=float, help=f"working F#, in [f-number-ref, {F_NUMBER_MAX:g}]")
    g.add_argument("--f-number-ref", type=float,
                   help="F# of the reference pupil the wavefront is defined on, in [%g, %g]" % F_NUMBER_REF_RANGE)
    g.add_argument("--zernike", help="'Z4=0.05,Z11=-0.1' (waves at 550 nm, Noll 1-37, each at most once, "
                                     "|c| <= 2) replacing the lens, or 'none' (a perfect lens)")
    g.add_argument("--oversample", type=int, help="image-plane samples per pixel pitch, in [%d, %d] (default: the "
                   "preset's, raised to what the PSF needs at this pitch and F#)" % OVERSAMPLE_RANGE)
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
    """The design the options describe: the preset (default 0.35) with explicit options applied;
    without ``--oversample``, the oversampling its PSF needs (as the app and the sweep do)."""
    from engine import optics

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
    design = base.replace(**changes)
    return optics.nyquist_sampled(design, given=args.oversample is not None)


def engine_error(command: str, err: Exception, terms: dict[str, str]) -> UsageError:
    """An engine error raised for ``command`` as a UsageError, the engine's parameter names in its
    message (``terms``: name -> option) replaced by the options the user typed."""
    text = str(err)
    for name, option in terms.items():
        text = re.sub(rf"\b{name}\b", option, text)
    return UsageError(f"{command}: {text}")


def check_scene_fits(size_px: int, margin_px: int, design: DesignPoint) -> None:
    """Refuse a ``--size`` whose scene (size + 2 margins, times the oversampling) exceeds the scene cap."""
    from engine import scenes
    from engine.simulate import CFA_PERIOD_PX

    cap = scenes.SHAPE_RANGE[1]
    largest = (cap // design.oversample - 2 * margin_px) // CFA_PERIOD_PX * CFA_PERIOD_PX
    if size_px > largest:
        raise UsageError(f"--size must be at most {largest} pixels at --oversample {design.oversample} (scenes are "
                         f"capped at {cap} samples per side), got {size_px}")
