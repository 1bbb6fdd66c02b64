"""The app's URL state: one design point plus the view settings, to and from a flat query string.

Pure functions (no Streamlit), so links can be built and parsed in tests and scripts.

The design uses the engine's short keys (``engine.design.to_query``: ``pitch``, ``fnum``, ``z``,
``ocl``, ...). Everything else the app needs to reproduce a view lives under the ``app_`` prefix:

=============  ==========================================================================
``app_preset``  Table 1 preset at the current pitch and F# (``"0.75"`` .. ``"0.35"``), or ``custom``
``app_lock``    1: F# follows pitch (constant light per pixel), 0: F# is free
``app_scene``   scene name (``engine.scenes.SCENE_NAMES``) or ``upload``
``app_size``    simulated crop, pixels per side (one of ``SIZES_PX``)
``app_x/y``     crop position over a photo, 0..1 of the free range (0.5 = centre)
``app_seed``    seed of the scene (dead leaves), burst motion and noise
``app_tab``     the open view (one of ``TABS``)
``app_phase``   OCL phase shown in the Lens view (0..3)
``app_zoom``    magnifier of the Images view (1, 2, 4, 8), centred at ``app_zx``/``app_zy`` (0..1)
``app_layout``  Images view layout, ``1x4`` or ``2x2``
``app_fit``     1: a photo is scaled so its short side just covers the simulated window
``a``           the design pinned as A for the A/B comparison: its own query string
                (``engine.design.to_query``, URL-encoded); absent when nothing is pinned
=============  ==========================================================================

Invalid values never raise: :func:`state_from_query` falls back to the default of each bad key and
returns one readable warning per problem, which the app shows.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from engine.design import (
    BURST_RANGE,
    DEFAULT_PRESET,
    F_NUMBER_MAX,
    F_NUMBER_REF_RANGE,
    OCL_MAX_WAVES,
    OVERSAMPLE_RANGE,
    PITCH_RANGE_UM,
    SNR_RANGE_DB,
    DesignError,
    DesignPoint,
    format_number,
    from_query,
    preset,
    presets,
    to_query,
)
from engine.optics import ZERNIKE_SLIDER_LIMITS_WAVES
from engine.scenes import SCENE_NAMES, SHAPE_RANGE  # noqa: F401 (the controls quote it)
from engine.sensor import FLUX_REFERENCE_F_NUMBER, FLUX_REFERENCE_PITCH_UM
from engine.simulate import max_oversample  # noqa: F401 (the app's name for it)

APP_PREFIX = "app_"
TABS = ("Lens", "Sensor", "Images", "Compare", "MTF", "Sweep", "Devices", "Export")
DEFAULT_TAB = "Images"
SIZES_PX = (128, 256, 384, 512)
DEFAULT_SIZE_PX = 256
DEFAULT_SCENE = "photo_dogs"
UPLOAD_SCENE = "upload"
ZOOMS = (1, 2, 4, 8)
LAYOUTS = ("1 x 4", "2 x 2")
CUSTOM_PRESET = "custom"
"""The preset box's entry for a pitch / F# that is none of the Table 1 designs."""
PIN_KEY = "a"
STREAMLIT_KEYS = {"embed", "embed_options"}
"""Query keys Streamlit itself reads (an embedded app), which the app's state leaves alone."""
MAX_SEED = 2**31 - 1

# Widget ranges are the engine's validation ranges (engine/design.py), so no control can offer a
# value the engine refuses; the only exception is F#, on purpose (below).
PITCH_SLIDER_UM = PITCH_RANGE_UM
F_NUMBER_SLIDER = (1.0, F_NUMBER_MAX)
"""The F# slider starts below the lens's reference F/1.4 on purpose: the app explains why such a
design is impossible instead of hiding the choice."""
F_NUMBER_REF_INPUT = F_NUMBER_REF_RANGE
SNR_SLIDER_DB = SNR_RANGE_DB
BURST_SLIDER = BURST_RANGE
OCL_LIMIT_WAVES = OCL_MAX_WAVES
FLUX_REFERENCE = f"{FLUX_REFERENCE_PITCH_UM:g} um at F/{FLUX_REFERENCE_F_NUMBER:g}"
"""The pixel (the paper's largest, Table 1) that the physical flux mode and the light-per-pixel
readouts are relative to (engine.sensor); Table 1 keeps F# / pitch at its ratio."""

ZERNIKE_GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Defocus", (4,)),
    ("Astigmatism", (5, 6)),
    ("Coma", (7, 8)),
    ("Trefoil", (9, 10)),
    ("Spherical", (11,)),
    ("Secondary", (12, 13, 22)),
)
ZERNIKE_NAMES = {
    4: "defocus", 5: "oblique astigmatism", 6: "vertical astigmatism", 7: "vertical coma",
    8: "horizontal coma", 9: "vertical trefoil", 10: "oblique trefoil", 11: "primary spherical",
    12: "vertical secondary astigmatism", 13: "oblique secondary astigmatism", 22: "secondary spherical",
}
SLIDER_TERMS = tuple(j for _, terms in ZERNIKE_GROUPS for j in terms)


def zernike_slider_limit(noll: int) -> float:
    """Slider half-range of Noll term ``noll`` (one of SLIDER_TERMS), waves at 550 nm:
    ``engine.optics.ZERNIKE_SLIDER_LIMITS_WAVES`` (larger values, up to the engine's
    ``ZERNIKE_MAX_WAVES``, go to the 'other terms' field)."""
    return ZERNIKE_SLIDER_LIMITS_WAVES[noll]


@dataclass(frozen=True)
class ViewState:
    """Everything in the URL that is not the design point."""

    preset: str = DEFAULT_PRESET
    lock: bool = True
    scene: str = DEFAULT_SCENE
    size_px: int = DEFAULT_SIZE_PX
    crop_x: float = 0.5
    crop_y: float = 0.5
    seed: int = 0
    tab: str = DEFAULT_TAB
    phase: int = 0
    zoom: int = 1
    zoom_x: float = 0.5
    zoom_y: float = 0.5
    layout: str = LAYOUTS[0]
    fit: bool = False
    pinned: str = ""
    """Query string of the design pinned as A (``pin_query``), or empty."""

    def replace(self, **changes) -> "ViewState":
        return dataclasses.replace(self, **changes)


def default_design() -> DesignPoint:
    return preset(DEFAULT_PRESET)


def query_from_state(design: DesignPoint, view: ViewState) -> dict[str, str]:
    """Flat ``{key: str}`` of the whole state (design keys first, then ``app_*``)."""
    query = to_query(design)
    query.update({
        "app_preset": view.preset,
        "app_lock": "1" if view.lock else "0",
        "app_scene": view.scene,
        "app_size": str(view.size_px),
        "app_x": format_number(view.crop_x),
        "app_y": format_number(view.crop_y),
        "app_seed": str(view.seed),
        "app_tab": view.tab,
        "app_phase": str(view.phase),
        "app_zoom": str(view.zoom),
        "app_zx": format_number(view.zoom_x),
        "app_zy": format_number(view.zoom_y),
        "app_layout": view.layout.replace(" ", ""),
        "app_fit": "1" if view.fit else "0",
    })
    if view.pinned:
        query[PIN_KEY] = view.pinned
    return query


def pin_query(design: DesignPoint) -> str:
    """The design as the value of the ``a`` key: its own URL-encoded query string."""
    return urlencode(to_query(design))


def pinned_design(text: str) -> DesignPoint:
    """Inverse of :func:`pin_query` (every key present, so no preset is involved); DesignError if bad."""
    return from_query(dict(parse_qsl(text, keep_blank_values=True)))


def link(base_url: str, query: dict[str, str]) -> str:
    """``base_url?query`` (the base without any query string of its own)."""
    return base_url.split("?", 1)[0] + "?" + urlencode(query)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError
    return value


def _choice(options, spell=str):
    def parse(text: str):
        for option in options:
            if spell(option) == text:
                return option
        raise ValueError

    return parse


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise ValueError
    return value


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError
    return text == "1"


_VIEW_KEYS = {
    # key: (ViewState field, parser, what is allowed)
    "app_preset": ("preset", _choice(tuple(presets()) + (CUSTOM_PRESET,)),
                   "one of " + ", ".join(presets()) + " or " + CUSTOM_PRESET),
    "app_lock": ("lock", _flag, "0 or 1"),
    "app_scene": ("scene", _choice(SCENE_NAMES + (UPLOAD_SCENE,)), "a scene name or 'upload'"),
    "app_size": ("size_px", _choice(SIZES_PX), "one of " + ", ".join(map(str, SIZES_PX))),
    "app_x": ("crop_x", _fraction, "a number in [0, 1]"),
    "app_y": ("crop_y", _fraction, "a number in [0, 1]"),
    "app_seed": ("seed", _seed, f"an integer in [0, {MAX_SEED}]"),
    "app_tab": ("tab", _choice(TABS), "one of " + ", ".join(TABS)),
    "app_phase": ("phase", _choice((0, 1, 2, 3)), "0, 1, 2 or 3"),
    "app_zoom": ("zoom", _choice(ZOOMS), "one of " + ", ".join(map(str, ZOOMS))),
    "app_zx": ("zoom_x", _fraction, "a number in [0, 1]"),
    "app_zy": ("zoom_y", _fraction, "a number in [0, 1]"),
    "app_layout": ("layout", _choice(LAYOUTS, lambda layout: layout.replace(" ", "")), "1x4 or 2x2"),
    "app_fit": ("fit", _flag, "0 or 1"),
}


def state_from_query(query: dict[str, str]) -> tuple[DesignPoint, ViewState, list[str]]:
    """Design, view and warnings from a URL query (missing keys take their defaults).

    A design key that does not parse or validate drops the whole design back to the default preset
    (a half-applied design would be a different what-if than the link promised); a bad view key
    drops back only that key.
    """
    warnings: list[str] = []
    view_changes: dict = {}
    for key, (name, parse, allowed) in _VIEW_KEYS.items():
        if key in query:
            try:
                view_changes[name] = parse(str(query[key]))
            except ValueError:
                warnings.append(f"link parameter {key} must be {allowed}, got {query[key]!r}; using the default")
    if PIN_KEY in query:
        try:
            view_changes["pinned"] = pin_query(pinned_design(str(query[PIN_KEY])))
        except DesignError as err:
            warnings.append(f"the link's pinned design A is invalid ({err}); nothing is pinned")
    view = ViewState(**view_changes)
    base = preset(DEFAULT_PRESET if view.preset == CUSTOM_PRESET else view.preset)
    known = set(_VIEW_KEYS) | set(to_query(base)) | {PIN_KEY} | STREAMLIT_KEYS
    warnings += [f"link parameter {key} is not a smallpix setting, so it was ignored (a typo?)"
                 for key in query if key not in known]
    design_query = {k: str(v) for k, v in query.items() if not k.startswith(APP_PREFIX) and k != PIN_KEY}
    try:
        design = from_query(design_query, base=base)
    except DesignError as err:
        warnings.append(f"the link's design is invalid ({err}); showing the {base.pitch_um} um preset instead")
        design = base
    return design, view, warnings


def split_zernike(terms: tuple[tuple[int, float], ...]) -> tuple[dict[int, float], tuple[tuple[int, float], ...]]:
    """Zernike terms -> (slider values for SLIDER_TERMS, the remaining terms for the text field).

    A slider term beyond its slider's range goes to the remaining terms (the slider shows 0), so
    :func:`merge_zernike` of the two gives back the same terms.
    """
    sliders = {j: 0.0 for j in SLIDER_TERMS}
    extra = []
    for j, c in terms:
        if j in sliders and abs(c) <= zernike_slider_limit(j):
            sliders[j] = float(c)
        else:
            extra.append((j, float(c)))
    return sliders, tuple(extra)


def merge_zernike(sliders: dict[int, float], extra: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
    """Slider values plus the text field's terms (added where both name a term), rounded to 1e-6."""
    total: dict[int, float] = {j: float(c) for j, c in sliders.items()}
    for j, c in extra:
        total[j] = total.get(j, 0.0) + float(c)
    return tuple(sorted((j, round(c, 6)) for j, c in total.items() if round(c, 6) != 0.0))


def locked_f_number(ratio: float, pitch_um: float) -> float:
    """F# on the constant-light-per-pixel line F# = ratio * pitch, rounded to 0.001."""
    return round(ratio * pitch_um, 3)


def f_number_hint(design_f_number: float, f_number_ref: float) -> str:
    """Why an F# below the reference pupil's is impossible, and what to do."""
    return (
        f"F/{design_f_number:.2f} is faster than the lens's reference pupil F/{f_number_ref:g}: the lens "
        f"wavefront (the Zernike terms) is only defined over that pupil, so a wider aperture has no "
        f"optics to simulate. Choose F# >= {f_number_ref:g} (or unlock F# from pitch), or lower the "
        "reference F# under Advanced if your lens is specified over a larger pupil."
    )


def nearest_preset(design: DesignPoint) -> str | None:
    """Name of the Table 1 preset equal to ``design`` in pitch and F#, if any."""
    return preset_at(design.pitch_um, design.f_number)


def preset_at(pitch_um: float, f_number: float) -> str | None:
    """Name of the Table 1 preset with this pitch and F# (to the sliders' 0.001), if any."""
    for name, p in presets().items():
        if math.isclose(p.pitch_um, pitch_um, abs_tol=5e-4) and math.isclose(p.f_number, f_number, abs_tol=5e-4):
            return name
    return None
