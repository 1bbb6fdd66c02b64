"""Table 4 of the paper: low light and bursts at 0.35 um (F/1.66), 15 dB per frame, bursts of 10.

Rows we run: single-frame (SF) and multi-frame (MF) traditional ISP; the SF Neural ISP twice, as
``auto`` selects it at 15 dB (the design's multi-frame net on one frame: it was trained on 1-10
frames at 12-24 dB) and as the bright-light per-design net (trained at 28-42 dB, so run outside its
noise range, to measure what a low-light net adds); and the MF Neural ISP (the multi-frame net,
engine.isp.neural.model.MultiFrameISP: per-frame heads aligned to frame 0 and fused inside the
network). The MF traditional ISP aligns the demosaiced frames to frame 0 by phase correlation and
averages them (engine.isp.traditional.align_and_average). The paper's Burstormer / BurstM rows are its
own figures, not re-run.

Bursts carry the sensor model's hand-shake: sub-pixel translations uniform in +-1 px per axis per
frame (seeded); rotations are not drawn (the sensor supports them; the per-frame spline rotation
costs ~1.5 s at 2048^2 samples). Metrics: PSNR, MS-SSIM and LPIPS on the held-out photos (the
Table 3 protocol, ground truth of frame 0) and grating MTF50 H / V (cycles/mm on the sensor).
"""

from __future__ import annotations

from engine import instruments, study
from engine.design import DesignPoint, presets

SNR_PER_FRAME_DB = 15.0
BURST_FRAMES = 10
PAPER_KEY = "table4_lowlight_0p35um_F1p66_15dB_burst10"

BRIGHT_SNR_DB = 35.0
"""The presets' SNR: the reference row (one frame in bright light) the paper's text compares with."""
ROWS = (
    # (our row, the paper's row beside it or None, our pipeline, frames, Neural ISP choice (None: the
    # caller's), SNR per frame in dB)
    ("SF Traditional ISP", "SF Traditional ISP", "traditional", 1, None, SNR_PER_FRAME_DB),
    ("MF Traditional ISP", "MF Traditional ISP", "traditional", BURST_FRAMES, None, SNR_PER_FRAME_DB),
    ("SF Neural ISP", "SF Neural ISP", "neural", 1, None, SNR_PER_FRAME_DB),
    ("SF Neural ISP (bright-light net)", "SF Neural ISP", "neural", 1, "design", SNR_PER_FRAME_DB),
    ("MF Neural ISP", "MF Neural ISP", "neural", BURST_FRAMES, None, SNR_PER_FRAME_DB),
    ("SF Neural ISP at 35 dB (reference)", None, "neural", 1, None, BRIGHT_SNR_DB),
)


PAPER_COLUMNS = ("psnr_dB", "msssim", "lpips", "mtf50_h", "mtf50_v")
NET_COLUMNS = ("params_M", "tmac_per_MP")


def _paper_cells(theirs: dict | None) -> dict:
    """The paper's values of one row (None where it has no such row), keyed ``<metric>_paper``."""
    return {f"{key}_paper": None if theirs is None else theirs[key] for key in PAPER_COLUMNS + NET_COLUMNS}


def lowlight_design(frames: int, snr_db: float = SNR_PER_FRAME_DB) -> DesignPoint:
    """Preset 0.35 (F/1.66) at ``snr_db`` per frame with ``frames`` frames."""
    return presets()["0.35"].replace(snr_db=snr_db, burst=frames)


def _net_cells(selection: dict, frames: int) -> dict:
    """Parameters (millions) and TMAC per output megapixel of the selected Neural ISP on ``frames`` frames."""
    from engine.isp.neural import model

    entry = selection["entry"]
    config = model.ModelConfig.from_dict(entry["architecture"])
    used = frames if selection["kind"] == "burst" else 1
    return {"params_M": round(entry["params"] / 1e6, 3), "tmac_per_MP": round(model.macs_per_megapixel(config, used) / 1e12, 3)}


def table4(images: list, *, extent_um: float, size_px: int, count: int, neural: str = "auto",
           progress=None) -> list[dict]:
    """One row per method of the paper's Table 4 (ours where we run it, the paper's beside it):
    PSNR (dB), MS-SSIM and LPIPS over ``images`` and MTF50 H / V (cycles/mm), with a note where a
    row is not run. progress: callable(done, total) over the rows we run."""
    columns = study.paper_tables()[PAPER_KEY]["columns"]
    paper = {row[0]: dict(zip(columns, row)) for row in study.paper_tables()[PAPER_KEY]["rows"]}
    rows = []
    for done, (name, paper_name, pipeline, frames, choice, snr_db) in enumerate(ROWS, start=1):
        design, choice = lowlight_design(frames, snr_db), choice or neural
        row = {"method": name, "frames": frames, "snr_db_per_frame": snr_db, **dict.fromkeys(NET_COLUMNS),
               **_paper_cells(paper.get(paper_name))}
        summary, _ = study.table3({name: design}, (pipeline,), images, extent_um=extent_um, neural=choice)
        mtf = instruments.measure_mtf(design, (pipeline,), size_px=size_px, count=count, neural=choice)[pipeline]
        row.update(psnr_dB=summary[0][f"psnr_db_{pipeline}"], msssim=summary[0][f"msssim_{pipeline}"],
                   lpips=summary[0][f"lpips_{pipeline}"], mtf50_h=round(mtf.mtf50_h_cyc_per_mm, 1),
                   mtf50_v=round(mtf.mtf50_v_cyc_per_mm, 1), note="")
        if pipeline == "neural":
            from engine.isp.neural import registry

            selection = registry.select(design, choice)
            row.update(_net_cells(selection, frames))
            row["note"] = selection["label"] + (f"; {selection['warning']}" if selection["warning"] else "")
        rows.append(row)
        if progress:
            progress(done, len(ROWS))
    rows += [{"method": name, "frames": None, "snr_db_per_frame": SNR_PER_FRAME_DB, **_paper_cells(theirs),
              "note": "the paper's figures, not re-run here"}
             for name, theirs in paper.items() if name not in {r[1] for r in ROWS}]
    return rows


def format_table4(rows: list[dict]) -> list[str]:
    """Aligned text lines: ours / paper per metric and row."""
    lines = [f"{'method':<34} {'frames':>6} | {'PSNR dB ours / paper':>21} | {'MS-SSIM':>15} | {'LPIPS':>15} | "
             f"{'MTF50 H':>15} | {'MTF50 V':>15} | {'params M':>15} | {'TMAC/MP':>15} | note"]
    for r in rows:
        cells = []
        for key, fmt in zip(PAPER_COLUMNS + NET_COLUMNS, (".2f", ".3f", ".3f", ".0f", ".0f", ".2f", ".3f")):
            mine, theirs = ("-" if r.get(k) is None else format(r[k], fmt) for k in (key, f"{key}_paper"))
            cells.append(f"{mine:>7} / {theirs:<7}")
        lines.append(f"{r['method']:<34} {r['frames'] or '-':>6} | " + " | ".join(cells) + f" | {r.get('note', '')}")
    lines.append(f"Preset 0.35 um at F/1.66, {SNR_PER_FRAME_DB:g} dB per frame (the reference row: {BRIGHT_SNR_DB:g} dB), "
                 f"bursts of {BURST_FRAMES} with +-1 px hand-shake; MTF50 in cycles/mm on the sensor; Neural ISP "
                 "parameters in millions and compute in TMAC per output megapixel.")
    return lines


def table4_figure(rows: list[dict]):
    """LPIPS and MTF50 H per method, ours beside the paper's (grouped bars)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("LPIPS (lower is better)", "MTF50 H (cycles/mm)"))
    methods = [r["method"] for r in rows]
    for col, key in ((1, "lpips"), (2, "mtf50_h")):
        for who, suffix, colour in (("ours", "", "#1f77b4"), ("paper", "_paper", "#999999")):
            fig.add_bar(x=methods, y=[r.get(key + suffix) for r in rows], name=who, marker_color=colour,
                        showlegend=col == 1, row=1, col=col)
    fig.update_layout(barmode="group", template="plotly_white", height=480,
                      title=f"Table 4: 0.35 um, F/1.66, {SNR_PER_FRAME_DB:g} dB per frame, bursts of {BURST_FRAMES}")
    return fig


def run_table4(*, quick: bool = False, max_images: int | None = None, images_dir: str | None = None,
               out_dir: str | None = None, neural: str = "auto", progress_factory=None) -> dict:
    """Table 4 beside the paper (``study --table 4``): the study's quick or full settings, the held-out
    test photos (or ``images_dir``), CSV + figure to ``out_dir``."""
    from engine import scenes

    settings = study.STUDY_SETTINGS["quick" if quick else "full"]
    if images_dir:
        images, source = study.user_images(images_dir), f"user folder {images_dir}"
    else:
        images, source = scenes.photo_set("test"), "held-out test split (assets/photo_sets.json)"
    limit = max_images or settings["max_images"]
    images = images[:limit] if limit else images
    update, bar = progress_factory("study table 4") if progress_factory else (None, None)
    try:
        rows = table4(images, extent_um=settings["extent_um"], size_px=settings["size_px"], count=settings["count"],
                      neural=neural, progress=update)
    finally:
        if bar is not None:
            bar.close()
    report = {"table": 4, "quick": quick, "neural": neural, "rows": rows,
              "settings": {"extent_um": settings["extent_um"], "images": len(images), "source": source,
                           "size_px": settings["size_px"], "count": settings["count"]}}
    if out_dir:
        report["files"] = [str(p) for p in study._write_outputs(out_dir, {"table4": rows}, {"table4": table4_figure(rows)})]
    return report


def format_report(report: dict) -> str:
    """The Table 4 report as text."""
    lines = [f"Table 4 ({'quick' if report['quick'] else 'full'} run, settings {report['settings']})"]
    lines += format_table4(report["rows"])
    if report.get("files"):
        lines.append("Wrote: " + ", ".join(report["files"]))
    return "\n".join(lines)
