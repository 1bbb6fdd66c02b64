"""A/B what-if: the design pinned as A beside the current design B (pure, no Streamlit).

A is pinned as its own query string (``state.pin_query``) in the ``a`` URL key, so a shared link
holds both designs. A is shown through the same scene, crop and seed as B; only the design differs.
"""

from __future__ import annotations

import math

from engine.design import DesignPoint, to_query
from engine.optics import min_oversample

PARAMETER_LABELS = {
    "pitch": "pixel pitch (um)", "fnum": "F-number", "fref": "reference F#", "z": "Zernike terms (waves)",
    "ocl": "OCL on", "tilt": "OCL tilt (waves)", "coma": "OCL coma (waves)", "cfa": "CFA", "snr": "SNR at white (dB)",
    "flux": "flux mode", "os": "oversample (numerical)", "fill": "fill factor", "burst": "burst frames",
}
METRICS = (  # (key in the metrics dict, label, unit, higher is better)
    ("psnr_db", "PSNR", "dB", True),
    ("msssim", "MS-SSIM", "", True),
    ("lpips", "LPIPS", "", False),
)
MTF50_AXES = (("h", "MTF50 H", "cycles/mm"), ("v", "MTF50 V", "cycles/mm"))
HIGHER_IS_BETTER = {label: higher for _, label, _, higher in METRICS} | {label: True for _, label, _ in MTF50_AXES}


NET_NAMES = {"design": "its per-design net", "burst": "its multi-frame net", "universal": "the universal net"}
"""How the comparison names the kind of Neural ISP (engine.isp.neural.registry.select) behind a panel."""


def neural_net_note(kind_a: str | None, kind_b: str | None) -> str | None:
    """Why A's and B's Neural ISP panels are not like for like, when different kinds of net made them
    (``select``'s kinds; None where a design has no Neural panel), else None."""
    if kind_a is None or kind_b is None or kind_a == kind_b:
        return None
    return (f"A's Neural ISP panel is made by {NET_NAMES[kind_a]}, B's by {NET_NAMES[kind_b]}, so the Neural ISP's "
            "change from A to B mixes the design change with a change of network (one universal net for every "
            "design resolves less than a net trained for one design; README, 'Universal Neural ISP'). To compare "
            "the designs alone, choose the same net for both under 'Neural ISP net' in the Images view "
            "(universal serves every design).")


def design_changes(a: DesignPoint, b: DesignPoint) -> list[dict]:
    """The parameters where B differs from A: ``{"parameter", "A", "B"}`` rows, in query-key order."""
    qa, qb = to_query(a), to_query(b)
    return [{"parameter": PARAMETER_LABELS.get(key, key), "A": qa[key], "B": qb[key]}
            for key in qa if qa[key] != qb.get(key)]


def fit_oversample(a: DesignPoint, cap: int) -> DesignPoint:
    """A with its (numerical) oversample brought inside [what its PSF needs, ``cap``] for the current
    crop, so A renders wherever B does; unchanged where it already fits or cannot (the engine then
    says why)."""
    needed = min_oversample(a.pitch_um, a.f_number)
    return a.replace(oversample=min(max(a.oversample, needed), max(cap, needed)))


def _delta(a, b) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return b - a


def comparison_rows(metrics: dict[str, dict], mtf50: dict[str, dict] | None = None) -> list[dict]:
    """Rows ``{"pipeline", "metric", "unit", "A", "B", "B - A", "better"}`` for the CSV and the table.

    metrics: ``{"A": {pipeline: {psnr_db, msssim, lpips} or None}, "B": {...}}`` (None where the
    pipeline has no output); mtf50: ``{"A": {pipeline: (h, v) cycles/mm}, "B": {...}}`` once measured.
    better: which design is better on that row ("A", "B", "same") or empty where either is missing.
    """
    rows = []
    pipelines = list(dict.fromkeys(list(metrics["A"]) + list(metrics["B"])))
    for pipeline in pipelines:
        values = {side: metrics[side].get(pipeline) or {} for side in ("A", "B")}
        for key, label, unit, _ in METRICS:
            rows.append(_row(pipeline, label, unit, values["A"].get(key), values["B"].get(key)))
        for axis, (_, label, unit) in zip((0, 1), MTF50_AXES):
            if mtf50:
                a, b = (mtf50[side].get(pipeline) for side in ("A", "B"))
                rows.append(_row(pipeline, label, unit, a[axis] if a else None, b[axis] if b else None))
    return rows


def _row(pipeline: str, label: str, unit: str, a, b) -> dict:
    delta = _delta(a, b)
    higher = HIGHER_IS_BETTER[label]
    better = "" if delta is None else "same" if abs(delta) < 1e-12 else ("B" if (delta > 0) == higher else "A")
    return {"pipeline": pipeline, "metric": label, "unit": unit, "A": a, "B": b, "B - A": delta, "better": better}
