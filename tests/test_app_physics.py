"""The app shows physics, it does not compute it (issue #14).

Every physics readout of the app (Airy radius, Nyquist, diffraction cutoff, wavefront piston and RMS,
noise sigma, light per pixel) and every widget range comes from the engine. :func:`app_findings`
scans the app's source (AST, docstrings left out) for the constants and formulas the engine owns;
``RULES`` documents each, with where the engine provides it. ``PENDING`` lists the findings in files
this change could not edit, each with its owner and the engine function it needs; a pending entry
that is no longer found fails too, so the list only shrinks.

Below: closed-form tests of the engine readouts the app calls (engine/optics.py), and the Zernike
slider table shared by the app and the universal Neural ISP.

Units: micrometres (um), nanometres (nm), cycles/mm, waves at 550 nm, dB.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.special

from engine import design as design_module
from engine import instruments, optics, scenes, study
from engine.design import DesignPoint, OCLOffsets, default_lens
from engine.sensor import FLUX_REFERENCE_F_NUMBER, FLUX_REFERENCE_PITCH_UM
from engine.spectra import REFERENCE_WAVELENGTH_NM, WAVELENGTHS_NM

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

FORBIDDEN_LITERALS = {
    optics.AIRY_RADIUS_PER_LAMBDA_F: "Airy radius factor: engine.optics.airy_radius_um",
    2 * optics.AIRY_RADIUS_PER_LAMBDA_F: "Airy diameter factor: engine.optics.airy_radius_um",
    FLUX_REFERENCE_PITCH_UM: "flux reference pitch: engine.sensor.FLUX_REFERENCE_PITCH_UM, "
                             "engine.sensor.light_per_pixel",
    FLUX_REFERENCE_F_NUMBER: "flux reference F#: engine.sensor.FLUX_REFERENCE_F_NUMBER",
    REFERENCE_WAVELENGTH_NM: "reference wavelength: engine.spectra.REFERENCE_WAVELENGTH_NM",
    float(WAVELENGTHS_NM.min()): "shortest wavelength: engine.spectra.WAVELENGTHS_NM",
    1.001: "photo margin: the engine's photo placement (engine.scenes)",
    1.02: "photo margin: engine.scenes.covering_source_pixel_um",
}
"""Numbers the engine owns. Flagged where the app computes with them or names them (an operand of
arithmetic, an assigned value or tuple); as a plot layout value (a dict or list entry, a keyword
argument) they are only coordinates."""

FORBIDDEN_TEXT = {
    rf"\b{REFERENCE_WAVELENGTH_NM:g} nm\b": "reference wavelength as text: engine.spectra.REFERENCE_WAVELENGTH_NM",
    rf"\b{float(WAVELENGTHS_NM.min()):g} nm\b": "shortest wavelength as text: format engine.spectra.WAVELENGTHS_NM",
    rf"\b{FLUX_REFERENCE_PITCH_UM:g} um\b": "flux reference pixel as text: app.state.FLUX_REFERENCE",
    rf"F/{FLUX_REFERENCE_F_NUMBER:g}\b": "flux reference F# as text: app.state.FLUX_REFERENCE",
    rf"F/{default_lens().f_number_ref:g}\b": "the preset lens's reference F# as text: engine.design.default_lens()",
}
"""Engine numbers written into labels and captions (string constants that are not docstrings)."""

RULES = {
    "literal": "a number the engine owns (FORBIDDEN_LITERALS)",
    "text": "an engine number written into a label (FORBIDDEN_TEXT)",
    "decibels": "10 ** (x / 20) or 10 ** (x / 10): noise sigma or gain from dB "
                "(engine.sensor.noise_sigma_at_white, electrons_per_signal)",
    "log_decibels": "10 or 20 * log10(...): an SNR law in dB (engine.sensor.effective_snr_db)",
    "frequency": "1e3 / (2 p) or 1e6 / (lambda F#): Nyquist or diffraction cutoff "
                 "(engine.optics.nyquist_cyc_per_mm, cutoff_cyc_per_mm)",
    "flux_law": "(a / b) ** 2: light per pixel ~ (pitch / F#)^2 (engine.sensor.light_per_pixel)",
    "shot_noise": "sqrt(...) * ...: sigma ~ sqrt(signal) (engine.sensor.noise_sigma_map)",
    "wavefront_statistics": "std / var of a wavefront or a mean subtracted (piston): "
                            "engine.optics.wavefront_map, wavefront_rms_waves",
    "widget_range": "a widget's or constant's (lo, hi) equal to an engine validation range: "
                    "read the engine's constant",
}

PENDING: dict = {}
"""(file, rule, part of the source text) -> who must change what; each entry must still be found."""


def _covers(entry: tuple[str, str, str], finding: tuple[str, str, str]) -> bool:
    """Whether the PENDING ``entry`` (file, rule, needle) names ``finding`` (file, rule, source text)."""
    return entry[:2] == finding[:2] and entry[2] in finding[2]


# --- the scan ------------------------------------------------------------------------------------


def engine_ranges() -> set[tuple[float, float]]:
    """(lo, hi) of every engine validation range: the ``*_RANGE*`` pairs of the modules that validate
    inputs, (-max, max) of the ``*_MAX_WAVES`` limits and the Zernike slider table, and the literal
    bounds of engine/design.py's range checks (a bound without a constant)."""
    pairs = set()
    for module in (design_module, instruments, scenes, study):
        for name, value in vars(module).items():
            if "_RANGE" in name and isinstance(value, tuple) and len(value) == 2 \
                    and all(isinstance(v, (int, float)) for v in value):
                pairs.add((float(value[0]), float(value[1])))
    for limit in (design_module.ZERNIKE_MAX_WAVES, design_module.OCL_MAX_WAVES,
                  *optics.ZERNIKE_SLIDER_LIMITS_WAVES.values()):
        pairs.add((-float(limit), float(limit)))
    for node in ast.walk(ast.parse((ROOT / "engine" / "design.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_range" and len(node.args) >= 4:
            bounds = [_number(a) for a in node.args[2:4]]
            if None not in bounds:
                pairs.add(tuple(bounds))
    return pairs


WIDGETS = {"slider", "number_input", "select_slider", "typed_slider"}


def _number(node) -> float | None:
    """The value of a numeric literal (``-x`` included), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def _call_name(node) -> str:
    if isinstance(node, ast.Call):
        return getattr(node.func, "attr", getattr(node.func, "id", ""))
    return ""


def _pairs(values: list[float | None]):
    return [(a, b) for a, b in zip(values, values[1:]) if a is not None and b is not None]


def _docstrings(tree) -> set[int]:
    """ids of the string constants that are docstrings (expression statements)."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def scan_source(source: str, ranges: set[tuple[float, float]]) -> list[tuple[str, str, int]]:
    """(rule, source text, line) of every physics constant or formula in ``source`` (RULES)."""
    tree = ast.parse(source)
    found = []

    def flag(rule: str, node) -> None:
        found.append((rule, ast.get_source_segment(source, node) or "", node.lineno))

    docstrings = _docstrings(tree)
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def computed_with(node) -> bool:
        parent = parents.get(id(node))
        while isinstance(parent, (ast.UnaryOp, ast.Tuple)):
            parent = parents.get(id(parent))
        return isinstance(parent, (ast.BinOp, ast.Assign, ast.AnnAssign, ast.Return))

    for node in ast.walk(tree):
        value = _number(node) if isinstance(node, ast.Constant) else None
        if value is not None and value in FORBIDDEN_LITERALS and computed_with(node):
            flag("literal", node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if any(re.search(pattern, node.value) for pattern in FORBIDDEN_TEXT):
                flag("text", node)
        if isinstance(node, ast.BinOp):
            left, right = node.left, node.right
            if isinstance(node.op, ast.Pow) and _number(left) == 10.0 and any(
                    isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and _number(n.right) in (10.0, 20.0)
                    for n in ast.walk(right)):
                flag("decibels", node)
            if isinstance(node.op, ast.Pow) and _number(right) == 2.0 and isinstance(left, ast.BinOp) \
                    and isinstance(left.op, ast.Div):
                flag("flux_law", node)
            if isinstance(node.op, ast.Mult) and any(_number(a) in (10.0, 20.0) and _call_name(b) == "log10"
                                                     for a, b in ((left, right), (right, left))):
                flag("log_decibels", node)
            if isinstance(node.op, ast.Div) and _number(left) in (1e3, 1e6) and isinstance(right, ast.BinOp) \
                    and isinstance(right.op, ast.Mult):
                flag("frequency", node)
            if isinstance(node.op, ast.Mult) and "sqrt" in (_call_name(left), _call_name(right)):
                flag("shot_noise", node)
            if isinstance(node.op, ast.Sub) and _call_name(right) == "mean":
                flag("wavefront_statistics", node)
        if _call_name(node) in ("std", "nanstd", "var", "nanvar"):
            flag("wavefront_statistics", node)
        if _call_name(node) in WIDGETS:
            bounds = [_number(a) for a in node.args]
            bounds += [_number(k.value) for k in node.keywords if k.arg in ("min_value", "max_value")]
            if any(pair in ranges for pair in _pairs(bounds)):
                flag("widget_range", node)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            if any(pair in ranges for pair in _pairs([_number(e) for e in node.value.elts])):
                flag("widget_range", node.value)
    return found


def app_findings() -> dict[tuple[str, str, str], int]:
    """(file relative to the repository, rule, source text) -> line, over app/**/*.py."""
    ranges = engine_ranges()
    findings = {}
    for path in sorted(APP.rglob("*.py")):
        for rule, text, line in scan_source(path.read_text(), ranges):
            findings[(path.relative_to(ROOT).as_posix(), rule, text)] = line
    return findings


def test_the_app_computes_no_physics_the_engine_provides():
    findings = app_findings()
    new = [f"{path}:{line}: {rule} ({RULES[rule]}): {text}"
           for (path, rule, text), line in findings.items()
           if not any(_covers(entry, (path, rule, text)) for entry in PENDING)]
    assert not new, "the app re-derives engine physics; call the engine instead:\n" + "\n".join(new)


def test_every_pending_finding_is_still_there():
    findings = app_findings()
    stale = [f"{entry}: {why}" for entry, why in PENDING.items() if not any(_covers(entry, f) for f in findings)]
    assert not stale, "fixed: remove from PENDING:\n" + "\n".join(stale)


OFFENDERS = {
    "literal": "airy_um = 1.22 * wavelength_um * design.f_number",
    "text": 'label = "Airy radius at 550 nm"',
    "decibels": "sigma = 10 ** (-snr / 20)",
    "log_decibels": "snr_curve = snr + 10 * np.log10(levels)",
    "frequency": "cutoff = 1e6 / (wavelength_nm * design.f_number)",
    "flux_law": "light = (pitch / ref_pitch) ** 2 * (ref_f / f_number) ** 2",
    "shot_noise": "grey = np.sqrt(0.18) * sigma",
    "wavefront_statistics": "w = w - w[inside].mean()\nrms = float(np.nanstd(w))",
    "widget_range": 'st.slider("Pixel pitch (um)", 0.2, 2.0, step=0.01, key="pitch")',
}


@pytest.mark.parametrize("rule", sorted(OFFENDERS))
def test_the_scan_catches_each_rule(rule):
    assert rule in RULES
    assert rule in {found[0] for found in scan_source(OFFENDERS[rule], engine_ranges())}


def test_the_scan_passes_engine_calls_and_layout_numbers():
    clean = """
airy_um = optics.airy_radius_um(design.f_number)
sigma = noise_sigma_at_white(snr)
light = light_per_pixel(pitch, f_number)
cutoff = optics.cutoff_cyc_per_mm(design.f_number, 420.0 if fast else wavelength_nm)
fig.update_yaxes(range=[0, 1.02])
fig.update_layout(coloraxis={"colorbar": {"x": 1.02}})
st.slider("Crop x", 0.0, 1.0, step=0.01, key="cx")
st.slider("Pixel pitch (um)", *PITCH_RANGE_UM, step=0.01, key="pitch")
label = f"Airy radius at {REFERENCE_WAVELENGTH_NM:g} nm"
"""
    assert scan_source(clean, engine_ranges()) == []


# --- engine readouts the app shows -------------------------------------------------------------


def test_airy_radius_is_the_first_zero_of_the_airy_pattern():
    first_zero = scipy.special.jn_zeros(1, 1)[0] / math.pi  # J1(pi r / (lambda F#)) = 0, r in lambda F#
    assert optics.airy_radius_um(2.0, 500.0) == pytest.approx(first_zero * 0.5 * 2.0, rel=3e-4)
    assert optics.airy_radius_um(3.55) == pytest.approx(1.22 * 0.550 * 3.55)
    # the Airy radius is 1.22 / cutoff: both from one lambda F#
    assert optics.airy_radius_um(2.8, 450.0) * optics.cutoff_cyc_per_mm(2.8, 450.0) == pytest.approx(1.22e3)


def test_nyquist_and_cutoff_closed_forms():
    assert optics.nyquist_cyc_per_mm(0.5) == pytest.approx(1000.0)  # 1 / (2 x 0.5 um)
    assert optics.cutoff_cyc_per_mm(2.0, 500.0) == pytest.approx(1000.0)  # 1 / (0.5 um x 2)
    assert optics.diffraction_mtf(np.array([optics.cutoff_cyc_per_mm(2.0, 500.0)]), 500.0, 2.0)[0] == pytest.approx(0.0)


def _lens(zernike=(), tilt=0.0, f_number=1.4) -> DesignPoint:
    ocl = OCLOffsets(enabled=tilt != 0.0, tilt_waves=tilt)
    return DesignPoint(pitch_um=0.5, f_number=f_number, f_number_ref=1.4, zernike=zernike, ocl=ocl)


def test_wavefront_map_of_a_perfect_lens_is_flat_inside_the_working_pupil():
    wavefront = optics.wavefront_map(_lens(f_number=2.8), samples=64)
    inside = np.isfinite(wavefront.waves)
    yy, xx = np.meshgrid(wavefront.u, wavefront.u, indexing="ij")
    np.testing.assert_array_equal(inside, np.hypot(xx, yy) <= 0.5)  # F/1.4 of F/2.8: half the radius
    assert np.abs(wavefront.waves[inside]).max() == 0.0 and wavefront.rms_waves == 0.0


@pytest.mark.parametrize("f_number", [1.4, 2.0, 2.8])
def test_truncated_defocus_rms_is_coefficient_times_pupil_fraction_squared(f_number):
    """Z4 = sqrt3 (2 rho^2 - 1) over a sub-disk of radius a is sqrt3 (2 a^2 r^2 - 1): piston removed,
    its RMS is c a^2 (Var(r^2) over the unit disk = 1/12)."""
    c, a = 0.1, 1.4 / f_number
    wavefront = optics.wavefront_map(_lens(zernike=((4, c),), f_number=f_number), samples=256)
    assert wavefront.rms_waves == pytest.approx(c * a**2, rel=0.02)
    assert np.nanmean(wavefront.waves) == pytest.approx(0.0, abs=1e-9)  # piston removed
    assert optics.wavefront_rms_waves(_lens(zernike=((4, c),), f_number=f_number)) == pytest.approx(c * a**2, rel=0.02)


def test_wavefront_map_includes_the_ocl_phase_tilt():
    """Each OCL phase adds tilt/sqrt2 of Z2 and of Z3 (unit RMS, orthogonal): RMS = tilt x a."""
    tilt, f_number = 0.2, 2.0
    for phase in range(4):
        wavefront = optics.wavefront_map(_lens(tilt=tilt, f_number=f_number), phase, samples=256)
        assert wavefront.rms_waves == pytest.approx(tilt * 1.4 / f_number, rel=0.02)
    assert optics.wavefront_rms_waves(_lens(tilt=tilt, f_number=f_number)) == 0.0  # the lens alone


def test_the_app_zernike_sliders_are_the_engine_table():
    from app import state
    from engine.isp.neural import universal

    assert state.SLIDER_TERMS == tuple(optics.ZERNIKE_SLIDER_LIMITS_WAVES)
    assert universal.ZERNIKE_SLIDER_LIMITS_WAVES == optics.ZERNIKE_SLIDER_LIMITS_WAVES
    assert max(optics.ZERNIKE_SLIDER_LIMITS_WAVES.values()) <= design_module.ZERNIKE_MAX_WAVES
