"""The sidebar: every design and view control, their session state and the URL.

Widget values live in ``st.session_state`` under the keys below; they are initialised once per
browser session from the URL (:func:`init_session`), changed only by the user or by the preset /
reset callbacks, and written back to the URL after each change (:func:`write_url`), so the URL
always holds the whole what-if.
"""

from __future__ import annotations

import streamlit as st

from app import state
from app.state import SLIDER_TERMS, ViewState, ZERNIKE_GROUPS, ZERNIKE_NAMES
from app.upload import UPLOAD_MAX_MB, UPLOAD_TYPES, PreparedUpload, UploadError, prepare_upload
from engine import scenes
from engine.design import (
    DesignError,
    DesignPoint,
    OCLOffsets,
    default_lens,
    format_zernike,
    parse_zernike,
    presets,
)
from engine.optics import min_oversample
from engine.sensor import effective_snr_db

SCENE_LABELS = {
    "text": "Text chart (Latin + CJK)",
    "siemens_star": "Siemens star",
    "dead_leaves": "Dead leaves",
    "slanted_edge": "Slanted edge (ISO 12233)",
    "grating_h": "Sinusoid grating, H",
    "grating_v": "Sinusoid grating, V",
    "colour_checker": "Colour checker",
    state.UPLOAD_SCENE: "Upload an image ...",
}
SCENE_OPTIONS = tuple(scenes.BUNDLED_PHOTOS) + tuple(scenes.CHARTS) + (state.UPLOAD_SCENE,)
CFA_LABELS = {"hex": "Hex (16-cell)", "quad": "Quad", "bayer": "Bayer"}
FLUX_LABELS = {"hold": "hold (SNR per pixel = slider)", "physical": "physical (SNR ~ pitch / F#)"}
OCL_LIMIT = 0.5
SNR_STEP = 0.5
NO_UPLOAD = "Upload an image in the sidebar (Scene) to use it as the scene."


def scene_label(name: str) -> str:
    if name in SCENE_LABELS:
        return SCENE_LABELS[name]
    return "Photo: " + name.removeprefix("photo_").replace("_", " ")


# --- session state ---------------------------------------------------------------------------


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
    ss.seed = view.seed
    ss.tab = view.tab
    ss.phase = view.phase
    ss.zoom, ss.zx, ss.zy = view.zoom, view.zoom_x, view.zoom_y


def init_session() -> None:
    """First run of a browser session: every widget's state from the URL (defaults where absent)."""
    if st.session_state.get("initialised"):
        return
    design, view, warnings = state.state_from_query(st.query_params.to_dict())
    apply_design(design, warnings)
    apply_view(view)
    st.session_state.url_warnings = warnings
    st.session_state.initialised = True


def _on_preset() -> None:
    """A Table 1 preset sets the optics (pitch, F#, lens, OCL); sensor and scene settings stay."""
    p = presets()[st.session_state.preset]
    ss = st.session_state
    ss.pitch, ss.fnum, ss.fref = float(p.pitch_um), float(p.f_number), float(p.f_number_ref)
    ss.fp_ratio = ss.fnum / ss.pitch
    apply_zernike(p.zernike)
    ss.ocl, ss.tilt, ss.coma = p.ocl.enabled, float(p.ocl.tilt_waves), float(p.ocl.coma_waves)


def _on_lock() -> None:
    if st.session_state.lock:
        st.session_state.fp_ratio = st.session_state.fnum / st.session_state.pitch


def _on_reset_lens() -> None:
    lens = default_lens()
    apply_zernike(lens.zernike)
    st.session_state.fref = float(lens.f_number_ref)


def _on_reset_ocl() -> None:
    lens = default_lens()
    st.session_state.ocl = True
    st.session_state.tilt, st.session_state.coma = float(lens.ocl.tilt_waves), float(lens.ocl.coma_waves)


def _on_reset_all() -> None:
    design, view, _ = state.state_from_query({})
    apply_design(design)
    apply_view(view.replace(tab=st.session_state.tab))


# --- widgets ---------------------------------------------------------------------------------


def sidebar() -> tuple[DesignPoint | None, str | None, ViewState, PreparedUpload | None, str | None]:
    """Draw the sidebar. Returns (design or None, its error, view, upload or None, upload error)."""
    ss = st.session_state
    sb = st.sidebar
    sb.title("smallpix")
    sb.caption("Lens + sensor what-ifs for small-pixel phone cameras")
    names = list(presets())
    sb.selectbox("Table 1 preset", names, key="preset", on_change=_on_preset,
                 format_func=lambda n: f"{n} um pixels, F/{presets()[n].f_number:g}",
                 help="The paper's five designs: pitch and F# scaled together (same light per pixel). "
                      "Sets the optics; sensor and scene settings stay.")

    sb.subheader("Optics")
    sb.slider("Pixel pitch (um)", *state.PITCH_SLIDER_UM, step=0.01, key="pitch", format="%.2f")
    sb.toggle("Scale F# with pitch (constant light per pixel)", key="lock", on_change=_on_lock,
              help="Holds F# / pitch fixed, as Table 1 does: light per pixel ~ (pitch / F#)^2 stays constant.")
    if ss.lock:
        locked = state.locked_f_number(ss.fp_ratio, ss.pitch)
        ss.fnum = min(max(locked, state.F_NUMBER_SLIDER[0]), state.F_NUMBER_SLIDER[1])
        f_number = locked
    sb.slider("F-number", *state.F_NUMBER_SLIDER, step=0.01, key="fnum", format="%.2f", disabled=ss.lock,
              help="Working aperture. The lens wavefront is defined over its reference pupil "
                   "(F/1.4 by default); opening up reveals the aberrated rim.")
    if not ss.lock:
        f_number = float(ss.fnum)
    light = (ss.pitch / state.FLUX_REFERENCE[0]) ** 2 * (state.FLUX_REFERENCE[1] / f_number) ** 2
    sb.caption(f"F/{f_number:.2f} at {ss.pitch:.2f} um: light per pixel x{light:.2f} of 0.75 um F/3.55")

    with sb.expander("Lens aberrations (Zernike, waves RMS at 550 nm)", expanded=False):
        for group, terms in ZERNIKE_GROUPS:
            st.markdown(f"**{group}**")
            for j in terms:
                limit = state.zernike_slider_limit(j)
                st.slider(f"Z{j} {ZERNIKE_NAMES[j]}", -limit, limit, step=0.001, key=f"z{j}", format="%.4f")
        st.text_input("Other terms (added)", key="z_extra", placeholder="e.g. Z14=0.01,Z16=-0.02",
                      help="Noll terms 1-37 without a slider, or beyond a slider's range; added to the sliders.")
        st.button("Reset lens to the preset lens", on_click=_on_reset_lens, key="reset_lens",
                  help="The default telephoto wavefront (assets/lens_default.json) of every Table 1 preset.")

    with sb.expander("On-chip lens (2x2 OCL)", expanded=False):
        st.toggle("OCL phases on", key="ocl")
        st.slider("Tilt toward each sub-pixel (waves)", -OCL_LIMIT, OCL_LIMIT, step=0.005, key="tilt",
                  format="%.3f", disabled=not ss.ocl)
        st.slider("Coma toward each sub-pixel (waves)", -OCL_LIMIT, OCL_LIMIT, step=0.005, key="coma",
                  format="%.3f", disabled=not ss.ocl)
        st.button("Reset OCL to the lens defaults", on_click=_on_reset_ocl, key="reset_ocl")

    sb.subheader("Sensor")
    sb.radio("Colour filter array", list(CFA_LABELS), key="cfa", horizontal=True, format_func=CFA_LABELS.get)
    sb.slider("SNR at white (dB)", 0.0, 60.0, step=SNR_STEP, key="snr",
              help="Shot-noise SNR of a white pixel (35 dB: bright light, 15 dB: low light).")
    sb.radio("Flux mode", list(FLUX_LABELS), key="flux", format_func=FLUX_LABELS.get,
             help="hold: every design gets the slider's SNR (the paper's proportional scaling). physical: SNR "
                  "follows photons per pixel, pitch^2 / F#^2, relative to 0.75 um at F/3.55.")
    sb.slider("Burst frames", 1, 16, step=1, key="burst",
              help="Frames with sub-pixel hand shake; the traditional ISP aligns and averages them.")

    sb.subheader("Scene")
    sb.selectbox("Scene", SCENE_OPTIONS, key="scene", format_func=scene_label, label_visibility="collapsed")
    upload, upload_error = None, None
    if ss.scene == state.UPLOAD_SCENE:
        file = sb.file_uploader("Image (PNG, JPEG, TIFF, WebP, BMP)", type=list(UPLOAD_TYPES), key="upload_file",
                                max_upload_size=UPLOAD_MAX_MB)
        if file is None:
            upload_error = NO_UPLOAD
        else:
            try:
                upload = prepare_upload(file.name, file.getvalue())
            except UploadError as err:
                upload_error = str(err)
    sb.select_slider("Simulated crop (pixels per side)", options=list(state.SIZES_PX), key="size",
                     help="The window simulated at full physics. A slider change takes about 0.2 s at 256 px and 0.6-0.8 s at 512 px on 2 cores.")
    photo = ss.scene == state.UPLOAD_SCENE or ss.scene in scenes.BUNDLED_PHOTOS
    col_x, col_y = sb.columns(2)
    col_x.slider("Crop x", 0.0, 1.0, step=0.01, key="cx", disabled=not photo,
                 help="Where the window sits on the photo (0 left, 1 right). Charts are always centred.")
    col_y.slider("Crop y", 0.0, 1.0, step=0.01, key="cy", disabled=not photo, help="0 top, 1 bottom.")

    with sb.expander("Advanced", expanded=False):
        st.number_input("Reference F# of the lens wavefront", 0.8, 4.0, step=0.05, key="fref", format="%.2f",
                        help="The pupil over which the Zernike terms are defined; F# cannot go below it.")
        st.number_input("PSF samples per pixel (oversample)", 1, 16, step=1, key="os")
        st.slider("Pixel fill factor", 0.05, 1.0, step=0.05, key="fill")
        st.number_input("Random seed (scene, motion, noise)", 0, state.MAX_SEED, step=1, key="seed")
        st.button("Reset everything", on_click=_on_reset_all, key="reset_all")

    design, error = build_design(f_number)
    if design is not None and design.oversample > int(ss.os):
        sb.caption(f"PSF sampling raised to {design.oversample} samples per pixel for F/{design.f_number:g} at "
                   f"{design.pitch_um:g} um (PSF Nyquist at 420 nm); results do not depend on it.")
    view = current_view()
    return design, error, view, upload, upload_error


def build_design(f_number: float) -> tuple[DesignPoint | None, str | None]:
    """The design from the widgets, or None and a message saying what is impossible and why."""
    ss = st.session_state
    try:
        extra = parse_zernike(ss.z_extra) if ss.z_extra.strip() else ()
        zernike = state.merge_zernike({j: ss[f"z{j}"] for j in SLIDER_TERMS}, extra)
        design = DesignPoint(
            pitch_um=round(float(ss.pitch), 4), f_number=round(float(f_number), 4),
            f_number_ref=round(float(ss.fref), 4), zernike=zernike,
            ocl=OCLOffsets(bool(ss.ocl), round(float(ss.tilt), 4), round(float(ss.coma), 4)),
            cfa=ss.cfa, snr_db=float(ss.snr), flux=ss.flux, oversample=int(ss.os),
            fill_factor=round(float(ss.fill), 4), burst=int(ss.burst),
        )
        # oversample is numerical (captures do not depend on it): raise it where the PSF needs it
        return design.replace(oversample=max(design.oversample, min_oversample(design.pitch_um, design.f_number))), None
    except DesignError as err:
        if err.field_name == "f_number" and f_number < ss.fref:
            return None, state.f_number_hint(f_number, ss.fref)
        return None, f"Impossible design: {err}."


def current_view() -> ViewState:
    ss = st.session_state
    return ViewState(preset=ss.preset, lock=bool(ss.lock), scene=ss.scene, size_px=int(ss.size),
                     crop_x=float(ss.cx), crop_y=float(ss.cy), seed=int(ss.seed), tab=ss.tab,
                     phase=int(ss.phase), zoom=int(ss.zoom), zoom_x=float(ss.zx), zoom_y=float(ss.zy))


def write_url(design: DesignPoint, view: ViewState) -> dict[str, str]:
    """Make the URL hold the whole state (only when it changed)."""
    query = state.query_from_state(design, view)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    return query


def share_box(query: dict[str, str]) -> None:
    """The link of this what-if in a code box (its copy button copies it)."""
    base = st.context.url or "http://localhost:8501/"
    st.sidebar.subheader("Share this what-if")
    st.sidebar.code(state.link(base, query), language=None, wrap_lines=True)
    st.sidebar.caption("Copy the link with the button in the box; it reproduces every setting above.")


def design_summary(design: DesignPoint) -> str:
    snr = effective_snr_db(design)
    name = state.nearest_preset(design)
    lens = "preset lens" if design.zernike == default_lens().zernike else "custom lens"
    where = f"Table 1 preset {name}" if name else "custom pitch / F#"
    return (f"{design.pitch_um:g} um pixels at F/{design.f_number:g} ({where}, {lens}), "
            f"{CFA_LABELS[design.cfa]} CFA, {snr:.1f} dB at white ({design.flux}), "
            f"{design.burst} frame{'s' if design.burst > 1 else ''}")
