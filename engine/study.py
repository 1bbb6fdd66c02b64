"""The paper's study, reproduced: MTF through whole pipelines (Table 2) and perceptual metrics on
held-out photos (Table 3), side by side with the paper's numbers (assets/paper_tables.json).

Table 2 is the paper's instrument, sinusoid gratings, beside the paper; with it the study reports
the MTF50 of every pipeline by all three instruments of :mod:`engine.instruments` (gratings, ISO 12233
e-SFR, dead-leaves texture). The paper's numbers are set beside ours only where the design matches
the paper's conditions (``paper_mismatch``).
"""

from __future__ import annotations

import json
import math

import numpy as np

from engine import scenes, sensor
from engine.design import ASSETS, DesignPoint
from engine.instruments import MTFResult, grating_frequencies, measure_mtf, measure_sfr_mtf50, psfs_for  # noqa: F401 (API)
from engine.isp import color, run_pipeline
from engine.perceptual import image_metrics  # noqa: F401 (API)
from engine.simulate import capture_scene, margin_px
from engine.study_instruments import format_instruments, instruments_table


def paper_tables() -> dict:
    """The paper's transcribed tables (assets/paper_tables.json)."""
    return json.loads((ASSETS / "paper_tables.json").read_text())


PAPER_PIPELINE_NAMES = {"demosaic": "demosaiced", "traditional": "traditional", "neural": "neural"}


def paper_rows(table_key: str) -> dict[float, dict]:
    """Rows of one paper table (e.g. "table2_mtf50") as dicts, keyed by pitch in um."""
    table = paper_tables()[table_key]
    return {row[0]: dict(zip(table["columns"], row)) for row in table["rows"]}


PAPER_CONDITIONS = "the preset lens, 35 dB (hold), hex CFA, a Table 1 pitch and F#, single frame"
"""The conditions of the paper's Table 2 (and Table 3) measurements."""


def paper_mismatch(design: DesignPoint) -> list[str]:
    """How ``design`` differs from the paper's measurement conditions (``PAPER_CONDITIONS``), one
    phrase per difference; empty where the paper's numbers apply. The numerical oversampling is ignored."""
    from engine.design import presets

    table1 = {(p.pitch_um, p.f_number): p for p in presets().values()}
    reference = table1.get((design.pitch_um, design.f_number))
    found = [] if reference else [f"{design.pitch_um:g} um at F/{design.f_number:g} is not a Table 1 design"]
    reference = reference or next(iter(table1.values())).replace(pitch_um=design.pitch_um, f_number=design.f_number)
    snr_db = sensor.effective_snr_db(design)
    if not math.isclose(snr_db, sensor.effective_snr_db(reference), abs_tol=1e-6):
        found.append(f"SNR {snr_db:g} dB")
    if design.cfa != reference.cfa:
        found.append(f"{design.cfa} CFA")
    if design.burst != 1:
        found.append(f"a {design.burst}-frame burst")
    lens = ("f_number_ref", "zernike", "ocl", "fill_factor")
    if any(getattr(design, f) != getattr(reference, f) for f in lens):
        found.append("a lens, OCL or fill factor other than the preset's")
    return found


def table2(
    designs: dict[str, DesignPoint], pipelines: tuple[str, ...], *, size_px: int, count: int, neural: str = "auto",
    progress=None,
) -> tuple[list[dict], dict[str, dict[str, MTFResult]]]:
    """Table 2 (MTF50, cycles/mm, sinusoid gratings): ours beside the paper's (where the design
    matches the paper's conditions, else None), per design and pipeline, with ratios.

    Returns (rows, curves) with curves[design_name][pipeline] the full MTF results.
    """
    paper = paper_rows("table2_mtf50")
    rows, curves = [], {}
    for i, (name, design) in enumerate(designs.items()):
        step = (lambda d, t, i=i: progress(i * t + d, len(designs) * t)) if progress else None
        curves[name] = measure_mtf(design, pipelines, size_px=size_px, count=count, neural=neural, progress=step)
        row = {"pitch_um": design.pitch_um, "f_number": design.f_number}
        ref = {} if paper_mismatch(design) else paper.get(design.pitch_um, {})
        for pipeline in pipelines:
            result = curves[name][pipeline]
            for axis, ours in (("h", result.mtf50_h_cyc_per_mm), ("v", result.mtf50_v_cyc_per_mm)):
                theirs = ref.get(f"{axis}_{PAPER_PIPELINE_NAMES.get(pipeline)}")
                row[f"{axis}_{pipeline}"] = round(ours, 1)
                row[f"{axis}_{pipeline}_paper"] = theirs
                row[f"{axis}_{pipeline}_ratio"] = round(ours / theirs, 3) if theirs else None
        rows.append(row)
    return rows, curves


def view_size_px(design: DesignPoint, extent_um: float) -> int:
    """Pixels (a multiple of 8) covering ``extent_um`` on the sensor at this design's pitch."""
    return max(168, int(round(extent_um / design.pitch_um / 8)) * 8)


def resample_display(image: np.ndarray, size_px: int) -> np.ndarray:
    """Display image (H, W, 3) resampled to ``size_px`` square with anti-aliasing (scikit-image),
    in linear light (the sRGB encoding undone and redone), so that averaging pixels averages light."""
    from skimage.transform import resize

    linear = color.srgb_decode(np.clip(image, 0.0, 1.0))
    small = resize(linear, (size_px, size_px, 3), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(color.srgb_encode(np.clip(small, 0.0, 1.0)), 0.0, 1.0).astype(np.float32)


def table3(
    designs: dict[str, DesignPoint],
    pipelines: tuple[str, ...],
    images: list,
    *,
    extent_um: float,
    source_pixel_um: float = scenes.DEFAULT_SOURCE_PIXEL_UM,
    seed: int = 0,
    neural: str = "auto",
    progress=None,
    paper_key: str = "table3_perceptual_35dB",
    common_px: int | None = None,
) -> tuple[list[dict], list[dict]]:
    """Table 3 (MS-SSIM, LPIPS vs ground truth, and PSNR) on ``images``: (summary rows, per-image rows).

    Each photo covers the same ``extent_um`` square on the sensor for every design; one photo pixel
    spans ``source_pixel_um`` there (default 0.35 um: native resolution at the finest pitch), or
    more where the photo would not cover the view; per-image rows give ``magnification``, the photo
    pixel in sensor pixels (above 1: the design sees the photo enlarged beyond its own pixels, a
    smoother scene than the photo's native detail). paper_key: the paper table the rows are set
    beside (Table 5 uses the same metrics). neural: which Neural ISP (engine.isp.NEURAL_CHOICES).
    common_px: also score every output and its reference resampled (anti-aliased) to this many pixels
    across, the same for every design (``*_common`` metrics: the views compared at one print size,
    as a viewer compares two cameras' photos of one scene on one screen).
    """
    paper = paper_rows(paper_key)
    chain = color.color_chain()
    per_image, summary = [], []
    total = len(designs) * len(images)
    for i, (name, design) in enumerate(designs.items()):
        psfs = psfs_for(design)
        size_px = view_size_px(design, extent_um)
        for j, path in enumerate(images):
            rendered_px = size_px + 2 * margin_px(design, psfs.psf_pixel.shape[-1])
            photo_pixel_um = scenes.covering_source_pixel_um(path, rendered_px * design.pitch_um, source_pixel_um)
            capture = capture_scene(design, str(path), size_px, seed=seed + j, psfs=psfs, source_pixel_um=photo_pixel_um)
            reference = color.camera_to_display(capture.ground_truth, chain)
            for pipeline in pipelines:
                output = run_pipeline(pipeline, capture, chain, neural=neural)
                values = image_metrics(output, reference)
                if common_px:
                    common = image_metrics(resample_display(output, common_px), resample_display(reference, common_px))
                    values |= {f"{k}_common": v for k, v in common.items()}
                per_image.append({"design": name, "pitch_um": design.pitch_um, "f_number": design.f_number,
                                  "pipeline": pipeline, "image": str(path), "size_px": size_px,
                                  "magnification": round(photo_pixel_um / design.pitch_um, 3), **values})
            if progress:
                progress(i * len(images) + j + 1, total)
        row = {"pitch_um": design.pitch_um, "f_number": design.f_number, "snr_db": round(sensor.effective_snr_db(design), 2),
               "images": len(images), "size_px": size_px}
        ref = paper.get(design.pitch_um, {})
        for pipeline in pipelines:
            mine = [r for r in per_image if r["design"] == name and r["pipeline"] == pipeline]
            metrics = ("msssim", "lpips", "psnr_db")
            for metric in metrics + (tuple(f"{m}_common" for m in metrics) if common_px else ()):
                row[f"{metric}_{pipeline}"] = round(float(np.mean([r[metric] for r in mine])), 4)
                theirs = ref.get(f"{metric}_{PAPER_PIPELINE_NAMES.get(pipeline)}")
                if theirs is not None:
                    row[f"{metric}_{pipeline}_paper"] = theirs
                    row[f"{metric}_{pipeline}_ratio"] = round(row[f"{metric}_{pipeline}"] / theirs, 3)
        summary.append(row)
    return summary, per_image


FIXED_APERTURE_F_NUMBER = 2.6
STUDY_TABLES = (2, 3, 5, 6)
"""Tables run_study reproduces: 2 (MTF50), 3 (perceptual metrics), 5 (Table 3's metrics with the
aperture fixed at F/2.6 and physical flux), 6 (each phone of Table 6 at its own design:
engine.study_devices). Table 4 (low light, bursts) is engine.study_lowlight."""


def study_designs(table: int) -> dict[str, DesignPoint]:
    """The five designs of a table, by Table 1 name: the presets (Tables 2, 3), or for Table 5 the
    presets' pitches at F/2.6 with physical flux (per-pixel SNR falls as the same light spreads over
    smaller pixels: 35 dB at 0.55 um, the F/2.6 preset; the paper's ablation, section 4.3)."""
    from engine.design import presets

    if table != 5:
        return presets()
    return {name: d.replace(f_number=FIXED_APERTURE_F_NUMBER, flux="physical") for name, d in presets().items()}


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SOURCE_PIXEL_RANGE_UM = (0.1, 2.0)
"""Allowed photo pixel on the sensor for Tables 3 and 5, micrometres."""
STUDY_SETTINGS = {
    # Table 2: grating window (pixels) and number of frequencies; Table 3: view extent and images.
    "full": {"size_px": 128, "count": 24, "extent_um": 179.2, "max_images": None},
    "quick": {"size_px": 64, "count": 12, "extent_um": 128.0, "max_images": 2},
}


def user_images(folder: str) -> list:
    """Image files (PNG/JPEG/TIFF) in ``folder``, sorted; clear error when there are none."""
    from pathlib import Path

    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"--images: {folder!r} is not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"--images: no PNG/JPEG/TIFF files in {folder!r}")
    return files


def run_study(table: int, *, quick: bool = False, max_images: int | None = None, images_dir: str | None = None,
              out_dir: str | None = None,
              source_pixel_um: float = scenes.DEFAULT_SOURCE_PIXEL_UM, neural: str = "auto",
              progress_factory=None) -> dict:
    """Table 2, 3, 5 or 6 (STUDY_TABLES) for its designs, beside the paper; writes CSV + figures
    to ``out_dir``. source_pixel_um: photo pixel on the sensor for Tables 3 and 5 (see table3).
    neural: which Neural ISP runs (engine.isp.NEURAL_CHOICES); the report names it per design."""
    from engine import figures

    if table not in STUDY_TABLES:
        raise ValueError(f"table must be one of {', '.join(map(str, STUDY_TABLES))} (table 4: "
                         f"engine.study_lowlight.run_table4), got {table}")
    if table == 6:
        return _run_table6(quick=quick, out_dir=out_dir, neural=neural, progress_factory=progress_factory)
    if table == 2 and source_pixel_um != scenes.DEFAULT_SOURCE_PIXEL_UM:
        raise ValueError("source_pixel_um (--source-pixel-um) applies to tables 3 and 5 (photos); table 2 uses gratings")
    if not SOURCE_PIXEL_RANGE_UM[0] <= source_pixel_um <= SOURCE_PIXEL_RANGE_UM[1]:
        raise ValueError(f"source_pixel_um (--source-pixel-um) must be in {SOURCE_PIXEL_RANGE_UM[0]}-{SOURCE_PIXEL_RANGE_UM[1]} um, "
                         f"got {source_pixel_um}")
    settings = STUDY_SETTINGS["quick" if quick else "full"]
    designs = study_designs(table)
    nets, missing_neural = neural_selection(designs, neural)
    pipelines = ("demosaic", "traditional", "deconv") + (() if missing_neural else ("neural",))
    update, bar = progress_factory(f"study table {table}") if progress_factory else (None, None)
    report: dict = {"table": table, "quick": quick, "pipelines": list(pipelines), "neural_nets": nets}
    if missing_neural:
        report["notes"] = [f"neural ISP omitted: {missing_neural}"]
    try:
        if table == 2:
            rows, curves = table2(designs, pipelines, size_px=settings["size_px"], count=settings["count"],
                                  neural=neural, progress=update)
            report.update(settings={k: settings[k] for k in ("size_px", "count")}, rows=rows,
                          instruments=instruments_table(designs, pipelines, curves, size_px=settings["size_px"],
                                                        neural=neural, progress=update))
            figs = {"mtf_curves": figures.mtf_curves_figure(curves, {n: d.pitch_um for n, d in designs.items()}),
                    "mtf50_vs_pitch": figures.mtf50_vs_pitch_figure(rows, pipelines)}
            per_image = None
        else:
            if images_dir:
                images, source = user_images(images_dir), f"user folder {images_dir}"
            else:
                images, source = scenes.photo_set("test"), "held-out test split (assets/photo_sets.json)"
            limit = max_images or settings["max_images"]
            if limit:
                images = images[:limit]
            paper_key = "table5_fixed_aperture_F2p6" if table == 5 else "table3_perceptual_35dB"
            rows, per_image = table3(designs, pipelines, images, extent_um=settings["extent_um"],
                                     source_pixel_um=source_pixel_um, neural=neural, progress=update,
                                     paper_key=paper_key)
            report.update(settings={"extent_um": settings["extent_um"], "source_pixel_um": source_pixel_um,
                                    "images": len(images), "source": source}, rows=rows)
            figs = {"perceptual_vs_pitch": figures.perceptual_figure(rows, pipelines)}
    finally:
        if bar is not None:
            bar.close()
    if out_dir:
        tables = {f"table{table}": rows, f"table{table}_per_image": per_image,
                  f"table{table}_instruments": report.get("instruments")}
        report["files"] = [str(p) for p in _write_outputs(out_dir, tables, figs)]
    return report


def _run_table6(*, quick: bool, out_dir: str | None, neural: str, progress_factory=None) -> dict:
    """Table 6: the phones at their own designs beside the Table 1 designs (engine.study_devices)."""
    from engine import study_devices

    settings = STUDY_SETTINGS["quick" if quick else "full"]
    update, bar = progress_factory("study table 6") if progress_factory else (None, None)
    try:
        rows = study_devices.table6(size_px=settings["size_px"], count=settings["count"], neural=neural, progress=update)
    finally:
        if bar is not None:
            bar.close()
    report = {"table": 6, "quick": quick, "pipelines": list(study_devices.DEVICE_PIPELINES), "neural": neural,
              "settings": {k: settings[k] for k in ("size_px", "count")}, "rows": rows}
    if out_dir:
        figs = {"table6_mtf50_vs_pitch": study_devices.table6_figure(rows)}
        report["files"] = [str(p) for p in _write_outputs(out_dir, {"table6": rows}, figs)]
    return report


def neural_selection(designs: dict[str, DesignPoint], neural: str) -> tuple[dict[str, str], str | None]:
    """({design name: the label of the Neural ISP that serves it}, None) or ({}, why the Neural ISP
    cannot run for some design)."""
    from engine.isp import PipelineUnavailable
    from engine.isp.neural import registry

    nets = {}
    for name, design in designs.items():
        try:
            nets[name] = registry.select(design, neural)["label"]
        except PipelineUnavailable as err:
            return {}, f"{name}: {err}"
    return nets, None


def write_csv_tables(out_dir: str, tables: dict[str, list[dict] | None]) -> list:
    """Write each non-empty ``{stem: rows}`` table to ``out_dir/stem.csv``; returns the paths."""
    import csv
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table_rows in tables.items():
        if table_rows:
            path = out / f"{name}.csv"
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(table_rows[0]))
                writer.writeheader()
                writer.writerows(table_rows)
            written.append(path)
    return written


def _write_outputs(out_dir: str, tables: dict[str, list[dict] | None], figs: dict) -> list:
    from pathlib import Path

    from engine.figures import save_figure

    written = write_csv_tables(out_dir, tables)
    for stem, fig in figs.items():
        written += save_figure(fig, Path(out_dir) / stem)
    return written


def format_report(report: dict) -> str:
    """The report as an aligned text table: ours | paper | ratio per column."""
    rows = report["rows"]
    lines = [f"Table {report['table']} ({'quick' if report['quick'] else 'full'} run, settings {report['settings']})"]
    if report["table"] == 6:
        from engine.study_devices import format_table6

        lines.append(format_table6(rows))
    elif report["table"] == 2:
        header = f"{'pitch um':>8} {'F#':>5}"
        for pipeline in report["pipelines"]:
            for axis in ("H", "V"):
                header += f" | {pipeline[:5]} {axis} ours / paper (ratio)"
        lines.append(header)
        for r in rows:
            line = f"{r['pitch_um']:>8} {r['f_number']:>5}"
            for pipeline in report["pipelines"]:
                for axis in ("h", "v"):
                    paper, ratio = r[f"{axis}_{pipeline}_paper"], r[f"{axis}_{pipeline}_ratio"]
                    line += f" | {r[f'{axis}_{pipeline}']:>7.1f} / {paper if paper else '-':>6} ({ratio if ratio else '-'})"
            lines.append(line)
        lines.append("MTF50 in cycles/mm on the sensor.")
        lines += format_instruments(report["instruments"], report["pipelines"])
    else:
        header = f"{'pitch um':>8} {'F#':>5} {'px':>4}"
        for pipeline in report["pipelines"]:
            header += f" | {pipeline[:5]} MS-SSIM ours / paper (ratio) | LPIPS ours / paper (ratio) | PSNR dB"
        lines.append(header)
        for r in rows:
            line = f"{r['pitch_um']:>8} {r['f_number']:>5} {r['size_px']:>4}"
            for p in report["pipelines"]:
                line += (f" | {r[f'msssim_{p}']:.3f} / {r.get(f'msssim_{p}_paper', '-')} ({r.get(f'msssim_{p}_ratio', '-')})"
                         f" | {r[f'lpips_{p}']:.3f} / {r.get(f'lpips_{p}_paper', '-')} ({r.get(f'lpips_{p}_ratio', '-')})"
                         f" | {r[f'psnr_db_{p}']:.2f}")
            lines.append(line)
        lines.append(f"Images: {report['settings']['images']} from {report['settings']['source']}.")
    lines += [f"Neural ISP at {name}: {label}" for name, label in report.get("neural_nets", {}).items()]
    lines += [f"Note: {note}" for note in report.get("notes", [])]
    if report.get("files"):
        lines.append("Wrote: " + ", ".join(report["files"]))
    return "\n".join(lines)
