"""Exports: figures as PNG / SVG (plotly + kaleido on the system chromium), images as PNG, curves as
CSV, and one ZIP with everything plus the design JSON. Pure functions (no Streamlit).

Every exported figure carries a stamp line under it (:func:`stamp`): the smallpix version and the
design, so a figure found later says what made it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tempfile
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from app.plots import TEMPLATE, png_bytes
from engine.design import DesignPoint

ROOT = Path(__file__).resolve().parents[1]
FIGURE_WIDTH = 1200
PNG_SCALE = 2
STAMP_LINE_PX = 16


@lru_cache(maxsize=1)
def version() -> str:
    """``smallpix <package version>`` plus the git commit where the source is a checkout."""
    try:
        text = f"smallpix {metadata.version('smallpix')}"
    except metadata.PackageNotFoundError:
        text = "smallpix"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} ({commit})"


def stamp(design: DesignPoint) -> str:
    """One line for the foot of an exported figure: the version, the design in short and its hash."""
    return (f"{version()} | {design.pitch_um:g} um, F/{design.f_number:g} (ref F/{design.f_number_ref:g}, "
            f"{len(design.zernike)} Zernike terms, OCL {'on' if design.ocl.enabled else 'off'}), {design.cfa} CFA, "
            f"{design.snr_db:g} dB {design.flux}, burst {design.burst} | design {design.design_hash()}")


def _size(fig: go.Figure) -> tuple[int, int]:
    return FIGURE_WIDTH, int(fig.layout.height or 500)


def styled(fig: go.Figure, stamp_text: str = "") -> go.Figure:
    """A copy with the print template (the app itself uses Streamlit's chart theme) and, if given,
    the stamp line under the figure (the bottom margin grows to hold it)."""
    out = go.Figure(fig).update_layout(template=TEMPLATE)
    if stamp_text:
        bottom = out.layout.margin.b if out.layout.margin.b is not None else 80
        extra = STAMP_LINE_PX * (stamp_text.count("<br>") + 1) + 10
        out.update_layout(margin={"b": bottom + extra}, height=_size(fig)[1] + extra)
        out.add_annotation(text=stamp_text, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                           yshift=-bottom, showarrow=False, font={"size": 10, "color": "#666"})
    return out


def figure_bytes(fig: go.Figure, fmt: str, stamp_text: str = "") -> bytes:
    """One figure as ``png`` or ``svg`` bytes (kaleido starts chromium: a few seconds)."""
    fig = styled(fig, stamp_text)
    width, height = _size(fig)
    return fig.to_image(format=fmt, width=width, height=height, scale=PNG_SCALE if fmt == "png" else 1)


def figures_bytes(figures: dict[str, go.Figure], formats=("png", "svg"), stamp_text: str = "") -> dict[str, bytes]:
    """All figures in all formats in one kaleido batch (one chromium start): {"name.fmt": bytes}."""
    if not figures:
        return {}
    with tempfile.TemporaryDirectory(prefix="smallpix-export-") as tmp:
        figs, paths, widths, heights, scales = [], [], [], [], []
        for name, fig in figures.items():
            fig = styled(fig, stamp_text)
            for fmt in formats:
                width, height = _size(fig)
                figs.append(fig)
                paths.append(Path(tmp) / f"{name}.{fmt}")
                widths.append(width)
                heights.append(height)
                scales.append(PNG_SCALE if fmt == "png" else 1)
        pio.write_images(figs, paths, width=widths, height=heights, scale=scales)
        return {p.name: p.read_bytes() for p in paths}


def csv_bytes(rows: list[dict]) -> bytes:
    """Rows (dicts with the same keys) as CSV bytes."""
    if not rows:
        return b""
    buffer = io.StringIO()
    fields = list(rows[0])
    for row in rows[1:]:
        fields += [k for k in row if k not in fields]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def image_metrics_rows(outputs: dict, metrics_of, neural_net: str | None) -> list[dict]:
    """The image-metrics table: one row per pipeline panel (``outputs``: pipeline -> stage with
    ``value`` and ``message``), its metrics (``metrics_of(pipeline)``) or why it is unavailable; the
    Neural ISP's row names the net that made it (``neural_net``, a registry label)."""
    rows = []
    for pipeline, stage in outputs.items():
        if stage.value is None:
            rows.append({"pipeline": pipeline, "unavailable": stage.message})
            continue
        rows.append({"pipeline": pipeline, **metrics_of(pipeline)}
                    | ({"neural_net": neural_net} if pipeline == "neural" else {}))
    return rows


def image_files(images: dict[str, np.ndarray | None]) -> dict[str, bytes]:
    """{"name.png": bytes} for every image that exists."""
    return {f"{name}.png": png_bytes(image) for name, image in images.items() if image is not None}


def zip_bytes(*, design: dict, link: str, view: dict, figures: dict[str, go.Figure],
              images: dict[str, np.ndarray | None], tables: dict[str, list[dict]],
              render_figures: bool = True, stamp_text: str = "") -> bytes:
    """One ZIP: design.json (design, view, link), figures/*.png|svg (and *.json plotly specs),
    images/*.png, data/*.csv; every figure with ``stamp_text`` under it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("design.json", json.dumps({"design": design, "view": view, "link": link}, indent=2))
        for name, fig in figures.items():
            archive.writestr(f"figures/{name}.json", styled(fig, stamp_text).to_json())
        if render_figures:
            for name, data in figures_bytes(figures, stamp_text=stamp_text).items():
                archive.writestr(f"figures/{name}", data)
        for name, data in image_files(images).items():
            archive.writestr(f"images/{name}", data)
        for name, rows in tables.items():
            if rows:
                archive.writestr(f"data/{name}.csv", csv_bytes(rows))
    return buffer.getvalue()


def design_json_bytes(design: dict, link: str) -> bytes:
    """The design and its link as JSON bytes."""
    return json.dumps({"design": design, "link": link}, indent=2).encode("utf-8")
