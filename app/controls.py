"""The sidebar: every design and view control, and the URL.

Widget values live in ``st.session_state`` (app/session.py: set from the URL once per browser
session, changed only by the user or by the preset / reset / pin callbacks) and are written back to
the URL after each change (:func:`write_url`), so the URL always holds the whole what-if. Every
range is the engine's (app/state.py), so no control offers a value the engine refuses.
"""

from __future__ import annotations

import streamlit as st

from app import session, state
from app.state import SLIDER_TERMS, ViewState, ZERNIKE_GROUPS, ZERNIKE_NAMES
from app.upload import UPLOAD_MAX_MB, UPLOAD_TYPES, PreparedUpload, UploadError, prepare_upload
from engine import scenes
from engine.design import (
    FILL_FACTOR_RANGE,
    DesignError,
    DesignPoint,
    OCLOffsets,
    ZERNIKE_MAX_WAVES,
    default_lens,
    parse_zernike,
    presets,
)
from engine.optics import min_oversample
from engine.sensor import effective_snr_db
from engine.spectra import REFERENCE_WAVELENGTH_NM, WAVELENGTHS_NM
from engine.sensor import light_per_pixel
from engine.zernike import NOLL_MAX

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
SNR_STEP = 0.5
NO_UPLOAD = "Upload an image in the sidebar (Scene) to use it as the scene."


def scene_label(name: str) -> str:
    if name in SCENE_LABELS:
        return SCENE_LABELS[name]
    return "Photo: " + name.removeprefix("photo_").replace("_", " ")


# --- widgets ---------------------------------------------------------------------------------


def typed_slider(container, label: str, lo: float, hi: float, step: float, key: str, fmt: str,
                 disabled: bool = False, help: str | None = None) -> None:
    """A slider with a number box beside it where the exact value can be typed; both hold
    ``st.session_state[key]`` (the box is ``<key>_typed``; ``<key>_shown`` is the value the box was
    last drawn with, see session.on_typed)."""
    typed = f"{key}_typed"
    st.session_state[typed] = st.session_state[key]
    left, right = container.columns([2.6, 1.4], vertical_alignment="bottom")
    left.slider(label, lo, hi, step=step, key=key, format=fmt, disabled=disabled, help=help)
    right.number_input(f"{label}, typed", lo, hi, step=step, key=typed, format=fmt, disabled=disabled,
                       label_visibility="collapsed", on_change=session.on_typed, args=(typed, key))
    st.session_state[f"{key}_shown"] = st.session_state[typed]


def sidebar() -> tuple[DesignPoint | None, str | None, ViewState, PreparedUpload | None, str | None]:
    """Draw the sidebar. Returns (design or None, its error, view, upload or None, upload error)."""
    ss = st.session_state
    sb = st.sidebar
    sb.title("smallpix")
    sb.caption("Lens + sensor what-ifs for small-pixel phone cameras")
    if ss.lock:
        locked = state.locked_f_number(ss.fp_ratio, ss.pitch)
        ss.fnum = min(max(locked, state.F_NUMBER_SLIDER[0]), state.F_NUMBER_SLIDER[1])
        f_number = locked
    else:
        f_number = float(ss.fnum)
    session.sync_preset(f_number)
    names = list(presets()) + [state.CUSTOM_PRESET]
    sb.selectbox("Table 1 preset", names, key="preset", on_change=session.on_preset,
                 format_func=lambda n: f"{n} um pixels, F/{presets()[n].f_number:g}" if n in presets()
                 else "custom pitch / F#",
                 help="The paper's five designs: pitch and F# scaled together (same light per pixel). "
                      "Sets the optics; sensor and scene settings stay.")

    sb.subheader("Optics")
    typed_slider(sb, "Pixel pitch (um)", *state.PITCH_SLIDER_UM, 0.01, "pitch", "%.2f")
    sb.toggle("Scale F# with pitch (constant light per pixel)", key="lock", on_change=session.on_lock,
              help="Holds F# / pitch fixed, as Table 1 does: light per pixel ~ (pitch / F#)^2 stays constant.")
    typed_slider(sb, "F-number", *state.F_NUMBER_SLIDER, 0.01, "fnum", "%.2f", disabled=ss.lock,
                 help="Working aperture. The lens wavefront is defined over its reference pupil "
                      f"(F/{default_lens().f_number_ref:g} by default); opening up reveals the aberrated rim.")
    light = light_per_pixel(ss.pitch, f_number)
    sb.caption(f"F/{f_number:.2f} at {ss.pitch:.2f} um: light per pixel x{light:.2f} of {state.FLUX_REFERENCE}")

    with sb.expander(f"Lens aberrations (Zernike, waves RMS at {REFERENCE_WAVELENGTH_NM:g} nm)", expanded=False):
        for group, terms in ZERNIKE_GROUPS:
            st.markdown(f"**{group}**")
            for j in terms:
                limit = state.zernike_slider_limit(j)
                st.slider(f"Z{j} {ZERNIKE_NAMES[j]}", -limit, limit, step=0.001, key=f"z{j}", format="%.4f")
        st.text_input("Other terms (added)", key="z_extra", placeholder="e.g. Z14=0.01,Z16=-0.02",
                      help=f"Noll terms 1-{NOLL_MAX} without a slider, or beyond a slider's range (up to "
                           f"{ZERNIKE_MAX_WAVES:g} waves); added to the sliders.")
        st.button("Reset lens to the preset lens", on_click=session.on_reset_lens, key="reset_lens",
                  help="The default telephoto wavefront (assets/lens_default.json) of every Table 1 preset.")

    with sb.expander("On-chip lens (2x2 OCL)", expanded=False):
        st.toggle("OCL phases on", key="ocl")
        limit = state.OCL_LIMIT_WAVES
        st.slider("Tilt toward each sub-pixel (waves)", -limit, limit, step=0.005, key="tilt",
                  format="%.3f", disabled=not ss.ocl)
        st.slider("Coma toward each sub-pixel (waves)", -limit, limit, step=0.005, key="coma",
                  format="%.3f", disabled=not ss.ocl)
        st.button("Reset OCL to the lens defaults", on_click=session.on_reset_ocl, key="reset_ocl")

    sb.subheader("Sensor")
    sb.radio("Colour filter array", list(CFA_LABELS), key="cfa", horizontal=True, format_func=CFA_LABELS.get)
    typed_slider(sb, "SNR at white (dB)", *state.SNR_SLIDER_DB, SNR_STEP, "snr", "%.1f",
                 help="Shot-noise SNR of a white pixel (35 dB: bright light, 15 dB: low light).")
    sb.radio("Flux mode", list(FLUX_LABELS), key="flux", format_func=FLUX_LABELS.get,
             help="hold: every design gets the slider's SNR (the paper's proportional scaling). physical: SNR "
                  f"follows photons per pixel, pitch^2 / F#^2, relative to {state.FLUX_REFERENCE}.")
    sb.slider("Burst frames", *state.BURST_SLIDER, step=1, key="burst",
              help="Frames with sub-pixel hand shake; the traditional ISP aligns and averages them.")

    upload, upload_error = scene_controls(sb)
    advanced = sb.expander("Advanced", expanded=False)  # filled below, once the design fixes the oversample cap
    pin_controls(sb)
    design, error = build_design(f_number)
    advanced_controls(advanced, design)
    if design is not None and design.oversample > int(ss.os):
        sb.caption(f"PSF sampling raised to {design.oversample} samples per pixel for F/{design.f_number:g} at "
                   f"{design.pitch_um:g} um (PSF Nyquist at {float(WAVELENGTHS_NM.min()):g} nm); results do not "
                   "depend on it.")
    if design is not None:
        ss.last_pin = state.pin_query(design)
    return design, error, session.current_view(), upload, upload_error


def scene_controls(sb) -> tuple[PreparedUpload | None, str | None]:
    """Scene, upload, crop size and position. Returns (upload or None, upload error)."""
    ss = st.session_state
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
                     help="The window simulated at full physics. A slider change takes about 0.2 s at 256 px and "
                          "0.6-0.8 s at 512 px on 2 cores.")
    photo = ss.scene == state.UPLOAD_SCENE or ss.scene in scenes.BUNDLED_PHOTOS
    col_x, col_y = sb.columns(2)
    col_x.slider("Crop x", 0.0, 1.0, step=0.01, key="cx", disabled=not photo,
                 help="Where the window sits on the photo (0 left, 1 right). Charts are always centred.")
    col_y.slider("Crop y", 0.0, 1.0, step=0.01, key="cy", disabled=not photo, help="0 top, 1 bottom.")
    sb.toggle("Fit the photo to the crop", key="fit", disabled=not photo,
              help="Scale the photo so its short side just covers the simulated window (crop x / y then "
                   "move along the long side) instead of 0.35 um per photo pixel.")
    return upload, upload_error


def advanced_controls(advanced, design: DesignPoint | None) -> None:
    """Reference F#, oversample (capped at what the engine accepts for this design and crop), fill
    factor, seed, reset."""
    ss = st.session_state
    with advanced:
        st.number_input("Reference F# of the lens wavefront", *state.F_NUMBER_REF_INPUT, step=0.05, key="fref",
                        format="%.2f", help="The pupil over which the Zernike terms are defined; F# cannot go "
                                            "below it.")
        cap = state.max_oversample(design, int(ss.size)) if design is not None else state.OVERSAMPLE_RANGE[1]
        st.number_input("PSF samples per pixel (oversample)", state.OVERSAMPLE_RANGE[0], max(cap, 1), step=1, key="os",
                        help=f"At most {cap} for a {ss.size} px crop: the scene grid, (crop + PSF margins) x "
                             f"oversample, is capped at {state.SHAPE_RANGE[1]} samples per side.")
        st.slider("Pixel fill factor", *FILL_FACTOR_RANGE, step=0.05, key="fill")
        st.number_input("Random seed (scene, motion, noise)", 0, state.MAX_SEED, step=1, key="seed")
        st.button("Reset everything", on_click=session.on_reset_all, key="reset_all")


def pin_controls(sb) -> None:
    """Pin the current design as A for the A/B comparison (the Compare tab), or unpin it."""
    ss = st.session_state
    sb.subheader("A/B what-if")
    if ss.pinned:
        sb.caption(f"A: {design_summary(state.pinned_design(ss.pinned))}. Move the sliders, then open **Compare**.")
        left, right = sb.columns(2)
        left.button("Pin this as A", on_click=session.on_pin, key="pin_a", help="Replace A by the current design.")
        right.button("Unpin A", on_click=session.on_unpin, key="unpin_a")
    else:
        sb.button("Pin this design as A", on_click=session.on_pin, key="pin_a",
                  help="Keep the current design as A, change the sliders (B) and compare both in the Compare tab.")


def build_design(f_number: float) -> tuple[DesignPoint | None, str | None]:
    """The design from the widgets, or None and a message saying what is impossible and why.

    The oversample is numerical (captures do not depend on it): it is raised to what the PSF needs
    (``optics.min_oversample``) and lowered to what the scene grid allows (``state.max_oversample``);
    where the first exceeds the second the message says so."""
    ss = st.session_state
    try:
        extra = parse_zernike(ss.z_extra) if ss.z_extra.strip() else ()
        zernike = state.merge_zernike({j: ss[f"z{j}"] for j in SLIDER_TERMS}, extra)
        design = DesignPoint(
            pitch_um=round(float(ss.pitch), 4), f_number=round(float(f_number), 4),
            f_number_ref=round(float(ss.fref), 4), zernike=zernike,
            ocl=OCLOffsets(bool(ss.ocl), round(float(ss.tilt), 4), round(float(ss.coma), 4)),
            cfa=ss.cfa, snr_db=float(ss.snr), flux=ss.flux, oversample=state.OVERSAMPLE_RANGE[0],
            fill_factor=round(float(ss.fill), 4), burst=int(ss.burst),
        )
    except DesignError as err:
        if err.field_name == "f_number" and f_number < ss.fref:
            return None, state.f_number_hint(f_number, ss.fref)
        return None, f"Impossible design: {err}."
    needed = min_oversample(design.pitch_um, design.f_number)
    cap = state.max_oversample(design, int(ss.size))
    if needed > cap:
        return None, (f"Impossible design: a Nyquist-sampled PSF at F/{design.f_number:g} on {design.pitch_um:g} um "
                      f"pixels needs oversample >= {needed}, but a {ss.size} px crop allows oversample in "
                      f"[1, {cap}] (the scene grid is capped at {state.SHAPE_RANGE[1]} samples per side). "
                      "Choose a smaller crop, a slower F# or smaller pixels.")
    if int(ss.os) > cap:
        ss.os = cap  # the crop grew: the box is drawn after this, with the new cap
    return design.replace(oversample=max(int(ss.os), needed)), None


def write_url(design: DesignPoint, view: ViewState) -> dict[str, str]:
    """Make the URL hold the whole state (only when it changed)."""
    query = state.query_from_state(design, view)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    return query


def share_link(query: dict[str, str]) -> str:
    """The link of this what-if: the page's own address with ``query``, so it equals the address bar."""
    return state.link(st.context.url or "http://localhost:8501/", query)


def share_box(query: dict[str, str]) -> None:
    """The link of this what-if in a code box (its copy button copies it)."""
    st.sidebar.subheader("Share this what-if")
    st.sidebar.code(share_link(query), language=None, wrap_lines=True)
    st.sidebar.caption("Copy the link with the button in the box; it reproduces every setting above"
                       + (", design A included." if query.get(state.PIN_KEY) else "."))


def design_summary(design: DesignPoint) -> str:
    snr = effective_snr_db(design)
    name = state.nearest_preset(design)
    lens = "preset lens" if design.zernike == default_lens().zernike else "custom lens"
    where = f"Table 1 preset {name}" if name else "custom pitch / F#"
    return (f"{design.pitch_um:g} um pixels at F/{design.f_number:g} ({where}, {lens}), "
            f"{CFA_LABELS[design.cfa]} CFA, {snr:.1f} dB at white ({design.flux}), "
            f"{design.burst} frame{'s' if design.burst > 1 else ''}")
