"""The design point: one lens + sensor configuration, its validation and (de)serialisation.

A :class:`DesignPoint` is a small frozen dataclass, so every engine stage can be cached by it.
Units are in the field names: micrometres (``_um``), waves at 550 nm (``_waves``), decibels (``_db``).
The five Table 1 presets of the paper (pitch scaled with F#, constant flux per pixel) are built from
``assets/paper_tables.json`` and the default proxy lens ``assets/lens_default.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.zernike import NOLL_MAX
from engine.validation import InputError, check_choice, check_instance, check_int_range, check_range, is_integer

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CFA_LAYOUTS = ("hex", "quad", "bayer")
FLUX_MODES = ("hold", "physical")

PITCH_RANGE_UM = (0.2, 2.0)
F_NUMBER_MAX = 16.0
F_NUMBER_REF_RANGE = (0.8, 4.0)
ZERNIKE_MAX_WAVES = 2.0
OCL_MAX_WAVES = 0.5
SNR_RANGE_DB = (0.0, 60.0)
OVERSAMPLE_RANGE = (1, 16)
BURST_RANGE = (1, 16)
FILL_FACTOR_RANGE = (0.05, 1.0)


class DesignError(InputError):
    """A design parameter outside its allowed range; names the field, the range and the value."""


def _canonical_float(value: float) -> float:
    """``value`` as a plain float with -0.0 as 0.0, so equal designs serialise (and hash) alike."""
    return float(value) + 0.0


def _set_checked(obj, name: str, value) -> None:
    """Store the checked field ``name`` of frozen ``obj`` as its canonical Python value (2 -> 2.0 for
    a real field, NumPy scalars -> int / float, -0.0 -> 0.0)."""
    object.__setattr__(obj, name, _canonical_float(value) if isinstance(value, float) else value)


@dataclass(frozen=True)
class OCLOffsets:
    """2x2 on-chip-lens phases. Each phase adds tilt (Z2/Z3) and coma (Z8/Z7) of these RMS
    amplitudes (waves at 550 nm, over the reference pupil) pointing toward its sub-pixel."""

    enabled: bool = True
    tilt_waves: float = 0.0
    coma_waves: float = 0.0

    def __post_init__(self):
        if self.enabled not in (True, False):
            raise DesignError("ocl.enabled", "true or false", self.enabled)
        object.__setattr__(self, "enabled", bool(self.enabled))
        for name in ("tilt_waves", "coma_waves"):
            _set_checked(self, name, check_range(f"ocl.{name}", getattr(self, name), -OCL_MAX_WAVES,
                                                 OCL_MAX_WAVES, "waves", error=DesignError))


@dataclass(frozen=True)
class DesignPoint:
    """One lens + sensor configuration.

    pitch_um: pixel pitch, micrometres. f_number: working F#. f_number_ref: F# of the reference
    pupil over which the wavefront is defined (F# >= f_number_ref). zernike: sorted
    ``((noll, waves_at_550nm), ...)``. ocl: on-chip-lens phase offsets. cfa: hex | quad | bayer.
    snr_db: shot-noise SNR at the reference signal level, dB. flux: hold | physical.
    oversample: image-plane samples per pixel pitch, a numerical setting (PSFs span a fixed window
    of pixels, so once the PSF is Nyquist-sampled a capture does not depend on it; see
    ``engine.optics.min_oversample``). fill_factor: pixel aperture width / pitch.
    burst: frames per capture.
    """

    pitch_um: float
    f_number: float
    f_number_ref: float = 1.4
    zernike: tuple[tuple[int, float], ...] = ()
    ocl: OCLOffsets = field(default_factory=OCLOffsets)
    cfa: str = "hex"
    snr_db: float = 35.0
    flux: str = "hold"
    oversample: int = 2
    fill_factor: float = 1.0
    burst: int = 1

    def __post_init__(self):
        error = {"error": DesignError}
        _set_checked(self, "pitch_um", check_range("pitch_um", self.pitch_um, *PITCH_RANGE_UM, "um", **error))
        _set_checked(self, "f_number_ref", check_range("f_number_ref", self.f_number_ref, *F_NUMBER_REF_RANGE, **error))
        _set_checked(self, "f_number", check_range("f_number", self.f_number, self.f_number_ref, F_NUMBER_MAX,
                                                   "(f_number_ref to 16)", **error))
        object.__setattr__(self, "zernike", _canonical_zernike(self.zernike))
        check_instance("ocl", self.ocl, OCLOffsets, **error)
        check_choice("cfa", self.cfa, CFA_LAYOUTS, **error)
        _set_checked(self, "snr_db", check_range("snr_db", self.snr_db, *SNR_RANGE_DB, "dB", **error))
        check_choice("flux", self.flux, FLUX_MODES, **error)
        _set_checked(self, "oversample", check_int_range("oversample", self.oversample, *OVERSAMPLE_RANGE, **error))
        _set_checked(self, "fill_factor", check_range("fill_factor", self.fill_factor, *FILL_FACTOR_RANGE, **error))
        _set_checked(self, "burst", check_int_range("burst", self.burst, *BURST_RANGE, **error))

    @property
    def zernike_dict(self) -> dict[int, float]:
        """Noll index -> waves at 550 nm."""
        return dict(self.zernike)

    @property
    def dx_um(self) -> float:
        """Image-plane sample spacing of PSFs and scenes, micrometres."""
        return self.pitch_um / self.oversample

    @property
    def pupil_fraction(self) -> float:
        """Radius of the working pupil relative to the reference pupil (f_number_ref / f_number)."""
        return self.f_number_ref / self.f_number

    def replace(self, **changes) -> "DesignPoint":
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict; Zernike terms keyed ``"Z<noll>"``."""
        out = dataclasses.asdict(self)
        out["zernike"] = {f"Z{j}": c for j, c in self.zernike}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "DesignPoint":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["zernike"] = tuple((int(k.lstrip("Zz")), float(v)) for k, v in data.get("zernike", {}).items())
        data["ocl"] = OCLOffsets(**data.get("ocl", {}))
        return cls(**data)

    def design_hash(self) -> str:
        """Short sha256 of the canonical JSON of this design (every field)."""
        return _short_hash(self.to_dict())

    def without_noise(self) -> "DesignPoint":
        """A copy with the noise fields (NOISE_FIELDS) at their defaults: what the optics and the
        sensor's blur depend on, e.g. as a cache key for PSF-derived quantities."""
        return self.replace(**{name: DesignPoint.__dataclass_fields__[name].default for name in NOISE_FIELDS})

    def imaging_hash(self) -> str:
        """Short sha256 of what a Neural ISP is trained for: lens, OCL, CFA, pitch, pixel aperture.

        Noise level, flux mode and burst length are left out: noise reaches the network as the
        per-pixel sigma map, so the same weights serve every SNR (within their training range).
        The oversampling is left out too: it is numerical (the capture does not depend on it).
        """
        return _short_hash({k: v for k, v in self.to_dict().items() if k not in NOISE_FIELDS + NUMERICAL_FIELDS})


NOISE_FIELDS = ("snr_db", "flux", "burst")
NUMERICAL_FIELDS = ("oversample",)


def _short_hash(data: dict) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _canonical_zernike(terms) -> tuple[tuple[int, float], ...]:
    """Sorted ``((noll, waves), ...)`` without zero terms, coefficients as floats; each term once."""
    if isinstance(terms, dict):
        terms = terms.items()
    merged: dict[int, float] = {}
    for j, c in terms:
        if not is_integer(j) or not 1 <= j <= NOLL_MAX:
            raise DesignError("zernike", f"Noll indices in [1, {NOLL_MAX}]", j)
        j = int(j)
        c = check_range(f"zernike Z{j}", c, -ZERNIKE_MAX_WAVES, ZERNIKE_MAX_WAVES, "waves", error=DesignError)
        if j in merged:
            raise DesignError(f"zernike Z{j}", "given once", f"{merged[j]:g} and {c:g}")
        merged[j] = _canonical_float(c)
    return tuple(sorted((j, c) for j, c in merged.items() if c != 0))


def parse_zernike(text: str) -> tuple[tuple[int, float], ...]:
    """Parse ``"Z4=0.05,Z11=-0.1"`` (waves at 550 nm) or ``"none"`` into Zernike terms.

    An empty text is refused (``"none"`` says "perfect lens" explicitly), and so is a term given twice.
    """
    if text.strip().lower() == "none":
        return ()
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise DesignError("zernike", "a list like 'Z4=0.05,Z11=-0.1' or 'none'", text)
    terms = []
    for item in filter(None, items):
        key, sep, value = item.partition("=")
        try:
            if not sep or key[:1].upper() != "Z":
                raise ValueError
            j, c = int(key[1:]), float(value)
        except ValueError:
            raise DesignError("zernike", "a list like 'Z4=0.05,Z11=-0.1' or 'none'", item) from None
        if not math.isfinite(c):
            raise DesignError(f"zernike Z{j}", "a finite number of waves", value)
        terms.append((j, c))
    return _canonical_zernike(terms)


def format_number(value: float) -> str:
    """``value`` as short as ``:g`` writes it where that reads back exactly, else Python's shortest
    round-trip repr (``:g`` keeps 6 digits: 0.123456789 came back as 0.123457): links and option
    strings that parse back to the same design."""
    text = f"{value:g}"
    return text if float(text) == value else repr(float(value))


def format_zernike(terms: tuple[tuple[int, float], ...]) -> str:
    """Inverse of :func:`parse_zernike` (exact: :func:`format_number`)."""
    return ",".join(f"Z{j}={format_number(c)}" for j, c in terms) or "none"


@dataclass(frozen=True)
class DefaultLens:
    """The proxy telephoto wavefront of ``assets/lens_default.json``."""

    f_number_ref: float
    zernike: tuple[tuple[int, float], ...]
    ocl: OCLOffsets


@lru_cache(maxsize=1)
def default_lens(path: Path = ASSETS / "lens_default.json") -> DefaultLens:
    data = json.loads(path.read_text())
    return DefaultLens(
        f_number_ref=float(data["f_number_ref"]),
        zernike=_canonical_zernike((int(j), float(c)) for j, c in data["zernike_waves_550nm"].items()),
        ocl=OCLOffsets(True, float(data["ocl"]["tilt_waves"]), float(data["ocl"]["coma_waves"])),
    )


@lru_cache(maxsize=1)
def presets() -> dict[str, DesignPoint]:
    """The five Table 1 designs (paper), keyed by pitch as written there: "0.75" ... "0.35"."""
    table = json.loads((ASSETS / "paper_tables.json").read_text())["table1_configs"]
    lens = default_lens()
    return {
        f"{row['pitch_um']:.2f}": DesignPoint(
            pitch_um=row["pitch_um"],
            f_number=row["f_number"],
            f_number_ref=lens.f_number_ref,
            zernike=lens.zernike,
            ocl=lens.ocl,
        )
        for row in table
    }


DEFAULT_PRESET = "0.35"


def preset(name: str) -> DesignPoint:
    """A Table 1 design by its pitch (``"0.35"``, ``"0.5"`` is not one); clear error otherwise."""
    table = presets()
    try:
        key = f"{float(name):.2f}"
    except ValueError:
        key = name
    if key not in table:
        raise DesignError("preset", "one of " + ", ".join(table), name)
    return table[key]


# URL query-string state: short keys, one flat level, so a link reproduces a what-if exactly.
_QUERY_KEYS = {
    "pitch": "pitch_um", "fnum": "f_number", "fref": "f_number_ref", "cfa": "cfa", "snr": "snr_db",
    "flux": "flux", "os": "oversample", "fill": "fill_factor", "burst": "burst",
}


def to_query(design: DesignPoint) -> dict[str, str]:
    """Flat ``{key: str}`` for a URL query string."""
    query = {key: format_number(getattr(design, name)) if not isinstance(getattr(design, name), str)
             else getattr(design, name) for key, name in _QUERY_KEYS.items()}
    query["z"] = format_zernike(design.zernike)
    query["ocl"] = "1" if design.ocl.enabled else "0"
    query["tilt"] = format_number(design.ocl.tilt_waves)
    query["coma"] = format_number(design.ocl.coma_waves)
    return query


def from_query(query: dict[str, str], base: DesignPoint | None = None) -> DesignPoint:
    """Design from a URL query (missing keys from ``base``, default the default preset)."""
    base = base or preset(DEFAULT_PRESET)
    changes: dict = {}
    for key, name in _QUERY_KEYS.items():
        if key in query:
            kind = type(getattr(base, name))
            try:
                changes[name] = kind(query[key])
            except ValueError:
                raise DesignError(name, f"a {kind.__name__}", query[key]) from None
    if "z" in query:
        changes["zernike"] = parse_zernike(query["z"])
    try:
        ocl = OCLOffsets(
            enabled=query.get("ocl", "1" if base.ocl.enabled else "0") != "0",
            tilt_waves=float(query.get("tilt", base.ocl.tilt_waves)),
            coma_waves=float(query.get("coma", base.ocl.coma_waves)),
        )
    except ValueError as err:
        if isinstance(err, DesignError):
            raise
        raise DesignError("ocl", "numbers of waves", {k: query.get(k) for k in ("tilt", "coma")}) from None
    return base.replace(ocl=ocl, **changes)
