"""The browser session's state: every widget's value in ``st.session_state``, set from the URL once
per session (:func:`init_session`), by the user, or by the preset / reset / pin callbacks here.

Widget keys: ``preset pitch fnum lock z<j> z_extra fref ocl tilt coma cfa snr flux burst os fill
scene size cx cy fit seed tab phase zoom zx zy layout``; plus ``fp_ratio`` (F# / pitch held by the
lock), ``pinned`` (design A's query string, empty when nothing is pinned) and ``last_pin`` (the
query string of the design last shown, which the pin button pins).
"""

from __future__ import annotations

import streamlit as st

from app import state
from app.state import ViewState
from engine.design import DesignPoint, default_lens, format_zernike, presets


def _clamp(value: float, lo: float, hi: float, name: str, warnings: list[str]) -> float:
    if value < lo or value > hi:
        clamped = min(max(value, lo), hi)
        warnings.append(f"{name} {value:g} from the link is outside the slider's range [{lo:g}, {hi:g}]; "
                        f"using {clamped:g}")
        return clamped
    return value


def apply_design(design: DesignPoint, warnings: list[str] | None = None) -> None:
    """Put ``design`` into the widgets' session state (values beyond a slider are clamped, with a warning)."""
    warnings = warnings if warnings is not None else []
    ss = st.session_state
    ss.pitch = _clamp(float(design.pitch_um), *state.PITCH_SLIDER_UM, "pitch (um)", warnings)
    ss.fnum = _clamp(float(design.f_number), *state.F_NUMBER_SLIDER, "F#", warnings)
    ss.fp_ratio = ss.fnum / ss.pitch
    ss.fref = float(design.f_number_ref)
    apply_zernike(design.zernike)
    ss.ocl = bool(design.ocl.enabled)
    ss.tilt = float(design.ocl.tilt_waves)
    ss.coma = float(design.ocl.coma_waves)
    ss.cfa = design.cfa
    ss.snr = float(design.snr_db)
    ss.flux = design.flux
    ss.burst = int(design.burst)
    ss.os = int(design.oversample)
    ss.fill = float(design.fill_factor)


def apply_zernike(terms) -> None:
    sliders, extra = state.split_zernike(terms)
    for j, c in sliders.items():
        st.session_state[f"z{j}"] = float(c)
    st.session_state.z_extra = format_zernike(extra) if extra else ""


def apply_view(view: ViewState) -> None:
    ss = st.session_state
    ss.preset = view.preset
    ss.lock = view.lock
    ss.scene = view.scene
    ss.size = view.size_px
    ss.cx, ss.cy = view.crop_x, view.crop_y
    ss.fit = view.fit
    ss.seed = view.seed
    ss.tab = view.tab
    ss.phase = view.phase
    ss.zoom, ss.zx, ss.zy = view.zoom, view.zoom_x, view.zoom_y
    ss.layout = view.layout
    ss.pinned = view.pinned


def init_session() -> None:
    """First run of a browser session: every widget's state from the URL (defaults where absent)."""
    if st.session_state.get("initialised"):
        return
    design, view, warnings = state.state_from_query(st.query_params.to_dict())
    apply_design(design, warnings)
    apply_view(view)
    st.session_state.url_warnings = warnings
    st.session_state.initialised = True


def current_view() -> ViewState:
    ss = st.session_state
    return ViewState(preset=ss.preset, lock=bool(ss.lock), scene=ss.scene, size_px=int(ss.size),
                     crop_x=float(ss.cx), crop_y=float(ss.cy), seed=int(ss.seed), tab=ss.tab,
                     phase=int(ss.phase), zoom=int(ss.zoom), zoom_x=float(ss.zx), zoom_y=float(ss.zy),
                     layout=ss.layout, fit=bool(ss.fit), pinned=ss.pinned)


def sync_preset(f_number: float) -> None:
    """The preset box names the Table 1 design at the current pitch and F#, or says 'custom'
    (call before the box is drawn)."""
    st.session_state.preset = state.preset_at(st.session_state.pitch, f_number) or state.CUSTOM_PRESET


# --- callbacks (run before the script, so they may set any widget's value) ---------------------


def on_preset() -> None:
    """A Table 1 preset sets the optics (pitch, F#, lens, OCL); sensor and scene settings stay."""
    if st.session_state.preset == state.CUSTOM_PRESET:
        return
    p = presets()[st.session_state.preset]
    ss = st.session_state
    ss.pitch, ss.fnum, ss.fref = float(p.pitch_um), float(p.f_number), float(p.f_number_ref)
    ss.fp_ratio = ss.fnum / ss.pitch
    apply_zernike(p.zernike)
    ss.ocl, ss.tilt, ss.coma = p.ocl.enabled, float(p.ocl.tilt_waves), float(p.ocl.coma_waves)


def on_lock() -> None:
    if st.session_state.lock:
        st.session_state.fp_ratio = st.session_state.fnum / st.session_state.pitch


def on_reset_lens() -> None:
    lens = default_lens()
    apply_zernike(lens.zernike)
    st.session_state.fref = float(lens.f_number_ref)


def on_reset_ocl() -> None:
    lens = default_lens()
    st.session_state.ocl = True
    st.session_state.tilt, st.session_state.coma = float(lens.ocl.tilt_waves), float(lens.ocl.coma_waves)


def on_reset_all() -> None:
    design, view, _ = state.state_from_query({})
    apply_design(design)
    apply_view(view.replace(tab=st.session_state.tab, pinned=st.session_state.pinned))


def on_pin() -> None:
    """Pin the design shown when the button was pressed as A."""
    st.session_state.pinned = st.session_state.get("last_pin", "")


def on_unpin() -> None:
    st.session_state.pinned = ""


def on_typed(typed_key: str, key: str) -> None:
    """A typed number box sets its slider, unless the box sent back the value it was last drawn with:
    then nobody typed; a rerun interrupted before the box was redrawn (fast slider key presses) left
    the browser's box behind the slider, and taking its old value would undo the slider's move."""
    if st.session_state[typed_key] == st.session_state.get(f"{key}_shown"):
        return
    st.session_state[key] = st.session_state[typed_key]
