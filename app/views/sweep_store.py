"""Sweep view, result stores: load a Zarr store written by ``python -m engine sweep`` (or run a small
sweep in the background with a progress bar), then a slice, a heatmap over two axes and the Pareto
front of a measurement against light per pixel (or F#), with the Nyquist and diffraction limits.

The background sweep runs ``engine.sweep.run_sweep`` in a thread of the server on a local cluster of
one worker thread (the app's other sessions keep the second core; a worker process would re-run the
Streamlit script, which is the ``__main__`` it imports); its store lives in a temporary folder
and is loaded like any other when done. Figures shown here are exported by the Export view.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from pathlib import Path

import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from app import plots
from app.state import FLUX_REFERENCE
from engine import optics, sweep, sweep_grid, sweep_store

EXAMPLE_GRID = """pipelines = ["traditional"]
measurements = ["mtf50"]

[axes]
pitch_um = [0.75, 0.55, 0.35]
f_number = [1.66, 2.6, 3.55]

[instrument]
size_px = 32
count = 8
"""
BACKGROUND_WORKERS = 1
MAX_BACKGROUND_TASKS = 200
_JOBS: dict[str, dict] = {}  # background sweeps of this server process, by store path
_JOBS_LOCK = threading.Lock()
QUALITY_HIGHER_BETTER = {"lpips": False}  # every other measurement: higher is better


def _run_job(job: dict, grid: sweep_grid.SweepGrid) -> None:
    def progress(done: int, total: int) -> None:
        job.update(done=done, total=total)

    try:
        job["summary"] = sweep.run_sweep(grid, job["path"], workers=BACKGROUND_WORKERS, processes=False,
                                         progress=progress)
    except Exception as err:  # noqa: BLE001 - shown to the user, the server goes on
        job["error"] = f"{type(err).__name__}: {err}"
    finally:
        job["running"] = False


def start_background_sweep(grid_text: str) -> str:
    """Parse ``grid_text`` (TOML) and start its sweep in a thread; returns the store path."""
    import tomllib

    try:
        grid = sweep_grid.parse_grid(tomllib.loads(grid_text))
    except tomllib.TOMLDecodeError as err:
        raise sweep_grid.SweepError(f"grid: not valid TOML ({err})") from None
    count = len(sweep_grid.tasks(grid))
    if count > MAX_BACKGROUND_TASKS:
        raise sweep_grid.SweepError(f"grid: the app runs at most {MAX_BACKGROUND_TASKS} tasks (use the CLI for more), "
                                    f"got {count}")
    path = str(Path(tempfile.mkdtemp(prefix="smallpix_sweep_")) / "sweep.zarr")
    job = {"path": path, "done": 0, "total": count, "running": True, "summary": None, "error": None}
    with _JOBS_LOCK:
        _JOBS[path] = job
    threading.Thread(target=_run_job, args=(job, grid), daemon=True, name="smallpix-sweep").start()
    return path


@st.fragment(run_every=1.0)
def _progress(path: str) -> None:
    job = _JOBS.get(path)
    if job is None:
        return
    if job["running"]:
        st.progress(job["done"] / max(job["total"], 1), text=f"sweep: {job['done']} of {job['total']} tasks")
        return
    if job["error"]:
        st.error(job["error"])
    elif st.session_state.get("sweep_store_path") != path:
        st.session_state["sweep_store_path"] = path
        st.rerun(scope="app")


@st.cache_data(max_entries=4, show_spinner=False)
def load_store(path: str, _stamp: float):
    """The store's Dataset, in memory (``_stamp``: the store's modification time, so a resumed store reloads)."""
    import xarray as xr

    with xr.open_zarr(path) as ds:
        return ds.load()


def _pick_store() -> str | None:
    source = st.radio("Result store", ("load", "run"), horizontal=True, key="sweep_source",
                      format_func={"load": "Load a store", "run": "Run a small sweep"}.get)
    if source == "load":
        path = st.text_input("Zarr store written by `python -m engine sweep --out`", key="sweep_store_input")
        if st.button("Load", key="sweep_store_load") and path:
            st.session_state["sweep_store_path"] = path
    else:
        text = st.text_area("Grid (TOML, README 'Sweeps')", EXAMPLE_GRID, height=220, key="sweep_grid_text")
        if st.button("Run in the background", key="sweep_run_background"):
            try:
                st.session_state["sweep_job"] = start_background_sweep(text)
            except sweep_grid.SweepError as err:
                st.error(str(err))
        if st.session_state.get("sweep_job"):
            _progress(st.session_state["sweep_job"])
    return st.session_state.get("sweep_store_path")


def slice_figure(ds, variable: str, x_dim: str, colour_dim: str | None, fixed: dict) -> go.Figure:
    """``variable`` against ``x_dim``, one line per ``colour_dim`` value, the other dimensions at ``fixed``."""
    data = ds[variable].sel(fixed)
    fig = go.Figure()
    for value in (data[colour_dim].values if colour_dim else [None]):
        line = data.sel({colour_dim: value}) if colour_dim else data
        fig.add_scatter(x=line[x_dim].values, y=line.values, mode="lines+markers",
                        name=f"{colour_dim} {value}" if colour_dim else variable)
    fig.update_xaxes(title_text=x_dim)
    fig.update_yaxes(title_text=f"{variable} ({ds[variable].attrs.get('units', '')})")
    return plots._layout(fig, f"{variable} vs {x_dim} at {_fixed_text(fixed)}", 420)


def heatmap_figure(ds, variable: str, x_dim: str, y_dim: str, fixed: dict) -> go.Figure:
    """``variable`` over two dimensions, the others at ``fixed``."""
    data = ds[variable].sel(fixed).transpose(y_dim, x_dim)
    fig = go.Figure(go.Heatmap(z=data.values, x=[str(v) for v in data[x_dim].values],
                               y=[str(v) for v in data[y_dim].values], colorscale="Viridis",
                               colorbar={"title": ds[variable].attrs.get("units", "")}))
    fig.update_xaxes(title_text=x_dim, type="category")
    fig.update_yaxes(title_text=y_dim, type="category")
    return plots._layout(fig, f"{variable} over {x_dim} x {y_dim} at {_fixed_text(fixed)}", 420)


def pareto_figure(ds, variable: str, x_name: str) -> go.Figure:
    """Every measured cell of ``variable`` against ``x_name`` (light_per_pixel or f_number), coloured by
    pitch, the Pareto front joined; MTF50s get each pitch's Nyquist and the diffraction-limited MTF50."""
    table = sweep_store.cell_table(ds, variable)
    fig = go.Figure()
    higher = QUALITY_HIGHER_BETTER.get(variable, True)
    colours = dict(zip(sorted(table["pitch_um"].unique()), itertools.cycle(plotly.colors.qualitative.Plotly)))
    for pitch, group in table.groupby("pitch_um"):
        fig.add_scatter(x=group[x_name], y=group["value"], mode="markers", name=f"{pitch:g} um",
                        marker={"color": colours[pitch]},
                        hovertext=[", ".join(f"{d} {row[d]}" for d in ds[variable].dims) for _, row in group.iterrows()])
    front = table[sweep_store.pareto_mask(table[x_name].values, table["value"].values,
                                          x_higher_better=x_name == "light_per_pixel", y_higher_better=higher)]
    front = front.sort_values(x_name)
    fig.add_scatter(x=front[x_name], y=front["value"], mode="lines", name="Pareto front", line={"color": "black"})
    if ds[variable].attrs.get("units") == "cycles/mm":
        for pitch, group in table.groupby("pitch_um"):
            fig.add_hline(y=optics.nyquist_cyc_per_mm(pitch), line_dash="dash", line_color=colours[pitch],
                          annotation_text=f"Nyquist {pitch:g} um", annotation_position="top left")
            limits = group.drop_duplicates(x_name).sort_values(x_name)
            fig.add_scatter(x=limits[x_name], mode="lines", line={"dash": "dot", "color": colours[pitch]},
                            name=f"diffraction MTF50 {pitch:g} um",
                            y=[sweep_store.diffraction_mtf50_cyc_per_mm(f) for f in limits["f_number"]])
    fig.update_xaxes(title_text=f"light per pixel (x {FLUX_REFERENCE})" if x_name == "light_per_pixel" else "F#",
                     autorange=True if x_name == "light_per_pixel" else "reversed")
    fig.update_yaxes(title_text=f"{variable} ({ds[variable].attrs.get('units', '')})")
    return plots._layout(fig, f"{variable} against {'light per pixel' if x_name == 'light_per_pixel' else 'F#'}: "
                              "every cell and the Pareto front", 480)


def _fixed_text(fixed: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in fixed.items()) or "every cell"


def store_figures() -> dict:
    """The figures this session last drew from a store, for the Export view."""
    return dict(st.session_state.get("sweep_store_figures", {}))


def render() -> None:
    st.markdown("#### Result store")
    path = _pick_store()
    if not path:
        st.caption("Load a store written by `python -m engine sweep`, or run a small sweep here.")
        return
    stamp = Path(path, "zarr.json" if Path(path, "zarr.json").exists() else ".zmetadata")
    if not stamp.exists():
        st.error(f"{path!r} is not a sweep store (no Zarr metadata there)")
        return
    ds = load_store(path, stamp.stat().st_mtime)
    variables = [v for v in ds.data_vars if not v.startswith("status_")]
    variable = st.selectbox("Measurement", variables, key="sweep_variable")
    dims = list(ds[variable].dims)
    wide = [d for d in dims if ds.sizes[d] > 1] or dims
    x_dim = st.selectbox("x axis", wide, key="sweep_x")
    others = [d for d in wide if d != x_dim]
    colour_dim = st.selectbox("lines by", [None] + others, key="sweep_colour", format_func=lambda d: d or "none")
    y_dim = st.selectbox("heatmap y axis", others, key="sweep_y") if others else None
    cols = st.columns(max(len(dims), 1))
    fixed = {d: col.selectbox(d, list(ds[d].values), key=f"sweep_fix_{d}") for col, d in zip(cols, dims)}
    figures = {"sweep_slice": slice_figure(ds, variable, x_dim, colour_dim,
                                           {d: v for d, v in fixed.items() if d not in (x_dim, colour_dim)})}
    if y_dim:
        figures["sweep_heatmap"] = heatmap_figure(ds, variable, x_dim, y_dim,
                                                  {d: v for d, v in fixed.items() if d not in (x_dim, y_dim)})
    x_name = st.radio("Pareto x axis", ("light_per_pixel", "f_number"), horizontal=True, key="sweep_pareto_x",
                      format_func={"light_per_pixel": "light per pixel", "f_number": "F#"}.get)
    figures["sweep_pareto"] = pareto_figure(ds, variable, x_name)
    for name, fig in figures.items():
        st.plotly_chart(fig, key=f"fig_{name}")
    st.session_state["sweep_store_figures"] = figures
    failed = {k: v for k, v in ds.attrs.items() if k == "errors_json" and v != "{}"}
    if failed:
        st.warning(f"Some tasks failed: {failed['errors_json'][:500]}")
    st.caption(f"{path}: code {ds.attrs.get('code_version')}, instrument {ds.attrs.get('instrument_json')}, "
               f"seeds {ds.attrs.get('seeds')}.")
