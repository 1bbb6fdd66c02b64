"""smallpix design explorer: ``streamlit run app/main.py``.

The sidebar holds the design (pitch, F#, lens, OCL, CFA, noise, burst) and the scene; the tabs
show what that design does, each computed only while open and from caches keyed by what it
depends on (app/cache.py). The URL holds the whole state (app/state.py), so a link reproduces a
what-if exactly.
"""

from __future__ import annotations

import os

# Thread pools, set before numpy / torch load (the server imports neither before this script):
# - OpenBLAS on one thread: the PSF's matrix Fourier transforms are small matmuls; on 2 cores shared
#   with numba, torch and other sessions, two spinning BLAS threads made one PSF set 0.5-9 s instead
#   of 0.2 s (docs/app.md, Speed).
# - idle OpenMP threads (torch, numba) sleep instead of spinning, so they do not steal the cores
#   from the next stage (LPIPS at 512 px: 0.37 -> 0.2 s).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/, not the repo root, on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import cache, controls, session, state  # noqa: E402
from app.compute import Run  # noqa: E402
from app.views import compare, devices, export, images, lens, mtf, sensor, sweep  # noqa: E402
from engine.design import DesignError  # noqa: E402
from engine.isp import PipelineUnavailable  # noqa: E402
from engine.parallel import keep_freed_memory_in_heap  # noqa: E402
from engine.scenes import SceneError  # noqa: E402

LOG = logging.getLogger("smallpix.app")
VIEWS = {"Lens": lens.render, "Sensor": sensor.render, "Images": images.render, "Compare": compare.render,
         "MTF": mtf.render, "Sweep": sweep.render, "Devices": devices.render, "Export": export.render}
NEEDS_SCENE = ("Sensor", "Images", "Compare", "Export")
EXPECTED_ERRORS = (DesignError, SceneError, PipelineUnavailable, FileNotFoundError, ValueError)
keep_freed_memory_in_heap()  # large activations stop page-faulting in on every rerun (engine/parallel.py)


def show_view(name: str, run: Run) -> None:
    """Draw one view; an error becomes a plain message, never a traceback."""
    try:
        VIEWS[name](run)
    except EXPECTED_ERRORS as err:
        st.error(str(err))
    except Exception as err:  # a bug: say so plainly, keep the traceback in the server log
        LOG.exception("view %s failed", name)
        st.error(f"Internal error in the {name} view ({type(err).__name__}: {err}). The details are in the "
                 "server log; other views still work.")


def compute_log(run: Run, seconds: float) -> None:
    rows = run.stage_table()
    st.session_state.stage_log = rows
    st.session_state.stage_tokens = {name: token for name, token, _, _ in run.log.values()}
    st.session_state.render_seconds = seconds
    shown = st.session_state.images_shown_seconds
    title = f"Compute log: {seconds:.2f} s this rerun" + (f", images shown at {shown:.2f} s" if shown else "")
    with st.sidebar.expander(title, expanded=False):
        if rows:
            st.dataframe(rows, hide_index=True)
        st.caption("Each stage is cached by exactly what it depends on: moving SNR reuses the PSFs, the scene "
                   "and the sensor OTF; moving a Zernike term reuses the scene.")


def main() -> None:
    cache.begin_rerun()
    st.set_page_config(page_title="smallpix: small-pixel design explorer", layout="wide")
    st.session_state.images_shown_seconds = None  # set by the Images view when its crops are drawn
    session.init_session()
    design, design_error, view, upload, upload_error = controls.sidebar()
    st.subheader("Small pixels, open apertures: which image do we get?", anchor=False)
    for warning in st.session_state.get("url_warnings", []):
        st.warning(warning)
    run = None
    if design is None:
        st.error(design_error)
    else:
        controls.share_box(controls.write_url(design, view))
        st.caption(controls.design_summary(design))
        for note in upload.notes if upload is not None else ():
            st.info(f"Uploaded image: {note}")
        run = Run(design, view, upload.path if upload else None,
                  cache.neural_signature(st.session_state.get("neural", "auto"),
                                         st.session_state.setdefault("neural_precision", cache.fast_precision())))
    # the tabs are drawn on every run, impossible designs included: a widget that is not drawn loses
    # its state, and the open tab would be forgotten
    tabs = st.tabs(list(state.TABS), key="tab", on_change="rerun")
    for tab, name in zip(tabs, state.TABS):
        if tab.open:
            with tab:
                if run is None:
                    st.info("Nothing to show for this design: the message above says what is impossible and what "
                            "to change. Every view comes back as soon as the design is possible again.")
                elif upload_error and view.scene == state.UPLOAD_SCENE and name in NEEDS_SCENE:
                    (st.info if upload_error == controls.NO_UPLOAD else st.error)(upload_error)
                else:
                    with st.spinner(f"Computing the {name} view ...", show_time=True):
                        show_view(name, run)
    if run is not None:
        compute_log(run, cache.rerun_seconds())

main()
