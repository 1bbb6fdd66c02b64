"""Table 2's instruments table: every pipeline's MTF50 at the study's designs by the three
instruments of :mod:`engine.instruments` (sinusoid gratings, ISO 12233 e-SFR, dead-leaves texture),
with the grating / e-SFR ratio, as rows and as text (``study --table 2``)."""

from __future__ import annotations

from engine import instruments
from engine.design import DesignPoint
from engine.instruments import MTFResult


def instruments_table(
    designs: dict[str, DesignPoint], pipelines: tuple[str, ...], gratings: dict[str, dict[str, MTFResult]], *,
    size_px: int, neural: str = "auto", progress=None,
) -> list[dict]:
    """MTF50 (cycles/mm, H and V) per design, pipeline and instrument (gratings reused from Table 2),
    with each pipeline's grating / e-SFR ratio: keys like ``neural_sfr_mtf50_h``, ``neural_grating_over_sfr_h``."""
    rows = []
    for i, (name, design) in enumerate(designs.items()):
        results, _ = instruments.measure_instruments(design, pipelines, size_px=size_px, gratings=gratings[name],
                                                     neural=neural)
        row = {"pitch_um": design.pitch_um, "f_number": design.f_number}
        for pipeline, by_instrument in results.items():
            for axis in ("h", "v"):
                for instrument, result in by_instrument.items():
                    row[f"{pipeline}_{instrument}_mtf50_{axis}"] = instruments.rounded(result.crossing(0.5, axis), 1)
                ratio = by_instrument["grating"].crossing(0.5, axis) / by_instrument["sfr"].crossing(0.5, axis)
                row[f"{pipeline}_grating_over_sfr_{axis}"] = instruments.rounded(ratio, 3)
        rows.append(row)
        if progress:
            progress(i + 1, len(designs))
    return rows


def _pair(row: dict, key: str, digits: int) -> str:
    """``row[key.format("h")]/row[key.format("v")]`` to ``digits`` decimals, "-" for a missing value."""
    return "/".join("-" if row[key.format(a)] is None else f"{row[key.format(a)]:.{digits}f}" for a in "hv")


def format_instruments(rows: list[dict], pipelines: list[str]) -> list[str]:
    """Lines of the instruments table: MTF50 H / V per pipeline by gratings, e-SFR and dead leaves,
    and the grating / e-SFR ratio (H / V)."""
    cell = " ".join(f"{name:>9}" for name in ("grating", "e-SFR", "dead lv", "grat/SFR"))
    lines = ["", "MTF50 by instrument, H/V (cycles/mm), and the grating / e-SFR ratio:",
             f"{'pitch um':>8} {'F#':>5}" + "".join(f" | {p:^{len(cell)}}" for p in pipelines),
             f"{'':>14}" + f" | {cell}" * len(pipelines)]
    for r in rows:
        line = f"{r['pitch_um']:>8} {r['f_number']:>5}"
        for p in pipelines:
            cells = [_pair(r, f"{p}_{i}_mtf50_{{}}", 0) for i in instruments.INSTRUMENTS]
            cells.append(_pair(r, f"{p}_grating_over_sfr_{{}}", 2))
            line += " | " + " ".join(f"{c:>9}" for c in cells)
        lines.append(line)
    lines.append(instruments.WHY_THEY_DIFFER)
    return lines
