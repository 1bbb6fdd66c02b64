"""Table 6 as a study: every phone of the paper's Table 6 at its own design, beside our five designs.

Each phone (engine.devices, assets/devices.csv) becomes a design at its own pitch and F# with the
proxy lens of the presets (the phones' real lenses are unknown), the hex CFA (the paper's sensor
for the whole study; Table 6 lists pitch, F# and format only) and the presets' 35 dB hold. Grating
MTF50 H/V (the Table 2 instrument) through demosaic, traditional and the Neural ISP; no phone sits
on a trained per-design net, so the Neural column is the universal net (the row says which net ran).
"""

from __future__ import annotations

import numpy as np

from engine import optics
from engine.design import DesignPoint, presets
from engine.devices import Device, load_devices
from engine.sensor import FLUX_REFERENCE_F_NUMBER, FLUX_REFERENCE_PITCH_UM

DEVICE_PIPELINES = ("demosaic", "traditional", "neural")


def device_design(device: Device) -> DesignPoint:
    """The proxy design of a phone: the 0.35 preset's lens, OCL, CFA and SNR at the phone's pitch and
    F#, with the oversampling its PSF needs."""
    base = presets()["0.35"]
    return optics.nyquist_sampled(base.replace(pitch_um=device.pitch_um, f_number=device.f_number))


def table6(*, size_px: int, count: int, neural: str = "auto", pipelines: tuple[str, ...] = DEVICE_PIPELINES,
           devices: tuple[Device, ...] | None = None, with_presets: bool = True, progress=None) -> list[dict]:
    """One row per phone (default: all of Table 6) and per Table 1 design: MTF50 H/V (cycles/mm) per
    pipeline, the Neural ISP that ran, the pixel Nyquist and the diffraction cutoff at 550 nm (cycles/mm)."""
    from engine import instruments
    from engine.isp.neural import registry

    entries = [("phone", d.device, d.release_year, device_design(d)) for d in (devices or load_devices())]
    if with_presets:
        entries += [("Table 1 design", f"preset {name}", None, d) for name, d in presets().items()]
    rows = []
    for k, (kind, name, year, design) in enumerate(entries):
        step = (lambda d, t, k=k: progress(k * t + d, len(entries) * t)) if progress else None
        mtf = instruments.measure_mtf(design, pipelines, size_px=size_px, count=count, neural=neural, progress=step)
        row = {"kind": kind, "name": name, "year": year, "pitch_um": design.pitch_um, "f_number": design.f_number,
               "nyquist_cyc_per_mm": round(optics.nyquist_cyc_per_mm(design.pitch_um), 1),
               "cutoff_550nm_cyc_per_mm": round(optics.cutoff_cyc_per_mm(design.f_number), 1),
               **instruments.mtf50_columns(mtf)}
        if "neural" in pipelines:
            row["neural_net"] = registry.select(design, neural)["kind"]
        rows.append(row)
    return rows


def table6_figure(rows: list[dict], pipelines: tuple[str, ...] = DEVICE_PIPELINES):
    """MTF50 (mean of H and V, cycles/mm) against pitch: phones as points (hover: phone, year, pitch,
    F#, MTF50 per pipeline), our five designs as lines, the pixel Nyquist and the diffraction cutoff
    of the Table 1 F# scaling (F# = 3.55 x pitch / 0.75 um) as lines."""
    import plotly.graph_objects as go

    from engine.isp import PIPELINE_COLOURS

    fig = go.Figure()
    phones = [r for r in rows if r["kind"] == "phone"]
    ours = sorted((r for r in rows if r["kind"] != "phone"), key=lambda r: r["pitch_um"])
    hover = ["<br>".join([f"<b>{r['name']}</b> ({r['year']})", f"{r['pitch_um']:g} um, F/{r['f_number']:g}"]
                         + [f"{p}: MTF50 H {r[f'h_{p}']:.0f} / V {r[f'v_{p}']:.0f} cyc/mm" for p in pipelines]
                         + [f"neural net: {r.get('neural_net', '-')}"]) for r in phones]
    for p in pipelines:
        colour = PIPELINE_COLOURS.get(p)
        mean = lambda r, p=p: 0.5 * (r[f"h_{p}"] + r[f"v_{p}"])  # noqa: E731
        fig.add_scatter(x=[r["pitch_um"] for r in phones], y=[mean(r) for r in phones], mode="markers",
                        name=f"phones, {p}", marker={"color": colour, "size": 10, "symbol": "diamond"},
                        hovertext=hover, hoverinfo="text")
        fig.add_scatter(x=[r["pitch_um"] for r in ours], y=[mean(r) for r in ours], mode="lines+markers",
                        name=f"Table 1 designs, {p}", line={"color": colour})
    pitch = np.linspace(0.3, 1.3, 60)
    fig.add_scatter(x=pitch, y=[optics.nyquist_cyc_per_mm(p) for p in pitch], mode="lines", name="pixel Nyquist",
                    line={"color": "black", "dash": "dash"})
    scaled = [optics.cutoff_cyc_per_mm(FLUX_REFERENCE_F_NUMBER * p / FLUX_REFERENCE_PITCH_UM) for p in pitch]
    fig.add_scatter(x=pitch, y=scaled, mode="lines", name=f"diffraction cutoff at 550 nm, F# = {FLUX_REFERENCE_F_NUMBER / FLUX_REFERENCE_PITCH_UM:.2f} x pitch",
                    line={"color": "black", "dash": "dot"})
    fig.update_layout(xaxis_title="pixel pitch (um)", yaxis_title="MTF50, mean of H and V (cycles/mm on the sensor)",
                      title="Table 6 phones at their own pitch and F# (proxy lens, hex CFA, 35 dB)",
                      template="plotly_white", yaxis_range=[0, 1.1 * max(r["nyquist_cyc_per_mm"] for r in rows)])
    fig.update_xaxes(autorange="reversed")
    return fig


def format_table6(rows: list[dict], pipelines: tuple[str, ...] = DEVICE_PIPELINES) -> str:
    lines = [f"{'phone / design':<20} {'year':>4} {'pitch':>5} {'F#':>4}"
             + "".join(f" | {p[:11]:>11} H/V" for p in pipelines) + " | neural net | Nyquist | cutoff 550 nm"]
    for r in rows:
        line = f"{r['name']:<20} {r['year'] or '':>4} {r['pitch_um']:>5} {r['f_number']:>4}"
        line += "".join(f" | {r[f'h_{p}']:>7.0f}/{r[f'v_{p}']:<7.0f}" for p in pipelines)
        line += f" | {r.get('neural_net', '-'):>10} | {r['nyquist_cyc_per_mm']:>7.0f} | {r['cutoff_550nm_cyc_per_mm']:>7.0f}"
        lines.append(line)
    lines.append("MTF50 in cycles/mm on the sensor (sinusoid gratings, noise at 35 dB); proxy lens, hex CFA.")
    return "\n".join(lines)
