"""Designs from a file through every pipeline: ``python -m engine study --designs FILE``.

The file is JSON: ``{"designs": [{"name": ..., "preset": ..., <DesignPoint.to_dict() fields>}, ...]}``
(or a bare list; :func:`load_designs` says what an entry may leave out);
``assets/heldout_designs.json`` holds the 20 random designs the universal Neural ISP is judged on
(never trained on). Per design: Table 3's metrics (PSNR, MS-SSIM, LPIPS against the
ground truth on the held-out photos, each covering the same square on the sensor) and grating
MTF50 H/V (the Table 2 instrument) for each pipeline; the summary says at how many designs the
Neural ISP beats the traditional ISP and the known-PSF ``deconv`` baseline, and the median MTF50
ratios.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine import optics
from engine.design import DesignError, DesignPoint, preset

DESIGN_PIPELINES = ("traditional", "deconv", "neural")


def load_designs(path: str | Path) -> dict[str, DesignPoint]:
    """{name: DesignPoint} from a designs file; a clear error names the entry that is wrong.

    An entry holds ``DesignPoint.to_dict()`` fields, an optional ``name`` and an optional
    ``preset`` (a Table 1 design by pitch, e.g. "0.35") whose fields the entry overrides; without a
    preset, fields not given take DesignPoint's defaults (a perfect lens). Where ``oversample`` is not
    given it is what the design's PSF needs (at least 2: optics.nyquist_sampled); one given too
    coarse for the F# is refused here, before any design is measured."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"--designs: cannot read {str(path)!r} as JSON ({err})") from None
    entries = data.get("designs") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"--designs: {str(path)!r} must hold a non-empty list of designs")
    designs = {}
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"--designs: entry {k} must be an object, got {type(entry).__name__}")
        fields = dict(entry)
        name = str(fields.pop("name", f"design_{k:02d}"))
        try:
            designs[name] = _entry_design(fields)
        except (DesignError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"--designs: entry {k} ({name}): {err}") from None
    return designs


def _entry_design(fields: dict) -> DesignPoint:
    """The design of one designs-file entry (its ``name`` removed): :func:`load_designs`."""
    base = preset(str(fields.pop("preset"))).to_dict() if "preset" in fields else {}
    design = DesignPoint.from_dict({**base, **fields})
    return optics.nyquist_sampled(design, given="oversample" in fields)


def designs_table(designs: dict[str, DesignPoint], images: list, *, extent_um: float, mtf_size_px: int,
                  mtf_count: int, pipelines: tuple[str, ...] = DESIGN_PIPELINES, neural: str = "auto",
                  progress=None) -> tuple[list[dict], list[dict]]:
    """(one row per design, per-image rows): metrics and MTF50 per pipeline."""
    from engine import instruments, study
    from engine.isp.neural import registry

    rows, per_image = [], []
    for k, (name, design) in enumerate(designs.items()):
        step = (lambda d, t, k=k: progress(k * t + d, len(designs) * t)) if progress else None
        summary, images_rows = study.table3({name: design}, pipelines, images, extent_um=extent_um, neural=neural,
                                            progress=step)
        mtf = instruments.measure_mtf(design, pipelines, size_px=mtf_size_px, count=mtf_count, neural=neural)
        row = {"design": name, "pitch_um": design.pitch_um, "f_number": design.f_number, "cfa": design.cfa,
               "snr_db": design.snr_db, **{k: v for k, v in summary[0].items() if k not in ("pitch_um", "f_number")}}
        row.update(instruments.mtf50_columns(mtf, "mtf50_{axis}_{pipeline}"))
        if "neural" in pipelines:
            chosen = registry.select(design, neural)
            row["neural_net"], row["neural_warning"] = chosen["kind"], chosen["warning"] or ""
        rows.append(row)
        per_image += images_rows
    return rows, per_image


def verdicts(rows: list[dict]) -> dict:
    """How often the Neural ISP wins, and median MTF50 ratios (mean of H and V per design)."""
    def mtf(r, p):
        return 0.5 * (r[f"mtf50_h_{p}"] + r[f"mtf50_v_{p}"])

    n = len(rows)
    return {
        "designs": n,
        "neural_beats_traditional_lpips": sum(r["lpips_neural"] < r["lpips_traditional"] for r in rows),
        "neural_beats_traditional_msssim": sum(r["msssim_neural"] > r["msssim_traditional"] for r in rows),
        "neural_beats_deconv_lpips": sum(r["lpips_neural"] < r["lpips_deconv"] for r in rows),
        "median_mtf50_neural_over_traditional": round(float(np.median([mtf(r, "neural") / mtf(r, "traditional") for r in rows])), 3),
        "median_mtf50_neural_over_deconv": round(float(np.median([mtf(r, "neural") / mtf(r, "deconv") for r in rows])), 3),
    }


def format_designs_report(rows: list[dict], pipelines: tuple[str, ...] = DESIGN_PIPELINES) -> str:
    """A text table (one line per design) and the verdict lines."""
    head = f"{'design':<12} {'pitch':>5} {'F#':>5} {'CFA':>5} {'SNR':>5}"
    for p in pipelines:
        head += f" | {p[:11]:>11} LPIPS MS-SSIM MTF50 H/V"
    lines = [head]
    for r in rows:
        line = f"{r['design']:<12} {r['pitch_um']:>5} {r['f_number']:>5} {r['cfa']:>5} {r['snr_db']:>5}"
        for p in pipelines:
            line += (f" | {r[f'lpips_{p}']:>17.3f} {r[f'msssim_{p}']:>7.3f} "
                     f"{r[f'mtf50_h_{p}']:>5.0f}/{r[f'mtf50_v_{p}']:<5.0f}")
        lines.append(line)
    if all(p in pipelines for p in DESIGN_PIPELINES):
        v = verdicts(rows)
        lines += ["", f"Neural ISP beats the traditional ISP on LPIPS at {v['neural_beats_traditional_lpips']}/{v['designs']} "
                  f"designs and on MS-SSIM at {v['neural_beats_traditional_msssim']}/{v['designs']}; beats deconv on LPIPS "
                  f"at {v['neural_beats_deconv_lpips']}/{v['designs']}.",
                  f"Median MTF50 (mean of H and V): neural / traditional {v['median_mtf50_neural_over_traditional']}x, "
                  f"neural / deconv {v['median_mtf50_neural_over_deconv']}x."]
    lines += [f"{r['design']}: Neural ISP {r['neural_warning']}" for r in rows if r.get("neural_warning")]
    return "\n".join(lines)


def run(designs_file, *, quick: bool = False, max_images: int | None = None, out_dir: str | None = None,
        neural: str = "auto", progress_factory=None) -> dict:
    """``study --designs FILE``: the designs through DESIGN_PIPELINES on the held-out photos (Table 3
    protocol; quick: 2 photos, a 128-um view, 12 grating frequencies over 64 px; max_images: the
    first N test photos), CSV in ``out_dir``."""
    from engine import scenes, study

    settings = study.STUDY_SETTINGS["quick" if quick else "full"]
    designs = load_designs(designs_file)
    images = scenes.photo_set("test")
    limit = max_images or settings["max_images"]
    if limit:
        images = images[:limit]
    update, bar = progress_factory(f"study {len(designs)} designs") if progress_factory else (None, None)
    try:
        rows, per_image = designs_table(designs, images, extent_um=settings["extent_um"],
                                        mtf_size_px=settings["size_px"], mtf_count=settings["count"], neural=neural,
                                        progress=update)
    finally:
        if bar is not None:
            bar.close()
    report = {"designs_file": str(designs_file), "quick": quick, "neural": neural, "images": len(images),
              "settings": {k: settings[k] for k in ("extent_um", "size_px", "count")}, "rows": rows,
              "verdicts": verdicts(rows)}
    if out_dir:
        report["files"] = [str(p) for p in study.write_csv_tables(out_dir, {"designs": rows, "designs_per_image": per_image})]
    return report
