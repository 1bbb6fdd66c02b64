"""Input checks shared by the whole engine, and their one error family.

Every check raises :class:`InputError` (a ``ValueError``) carrying the field, the allowed range or
choices, and the value given, so the CLI can map the field to its option name and the app can show
one sentence. ``DesignError`` (design fields) and ``SceneError`` (scene requests) are its kinds:
every check takes ``error=`` the kind to raise (default :class:`InputError`).

A real number is an ``int``, ``float`` or NumPy scalar of those kinds (``numbers.Real``), never a
``bool``; an integer likewise (``numbers.Integral``). Checks that accept a value return it as a
plain Python ``float`` / ``int`` / tuple where noted, so callers store canonical values.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "InputError",
    "MismatchError",
    "check_choice",
    "check_finite",
    "check_finite_array",
    "check_float_array",
    "check_instance",
    "check_int_range",
    "check_nonnegative",
    "check_range",
    "check_shape_2d",
    "coerce_rng",
    "is_integer",
    "is_real_number",
    "seed_of",
]


class InputError(ValueError):
    """A parameter outside its allowed range or choices; names the field, the range and the value.

    The message is ``"<field_name> must be <allowed>, got <got>"``; ``got`` defaults to
    ``repr(value)`` and is given instead where the value is too big to print (an array: its type,
    or how many of its samples are bad).
    """

    requirement = "be"

    def __init__(self, field_name: str, allowed: str, value, *, got: str | None = None):
        self.field_name = field_name
        self.allowed = allowed
        self.value = value
        super().__init__(f"{field_name} must {self.requirement} {allowed}, got {repr(value) if got is None else got}")


class MismatchError(InputError):
    """A prepared input (a cached transform, a clean capture) made for other settings than those it is
    used with; ``allowed`` names the settings it must match. Message: ``"<field_name> must match
    <allowed>, got <got>"``."""

    requirement = "match"


def is_real_number(value) -> bool:
    """True for an int, float or NumPy real scalar, False for a bool or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value) -> bool:
    """True for an int or NumPy integer scalar, False for a bool or anything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def check_range(name: str, value, lo: float, hi: float, unit: str = "", *, error=InputError) -> float:
    """``value`` as a float if it is a real number in ``[lo, hi]`` (NaN is not); ``unit`` (e.g.
    ``"um"``, ``"dB"``) is named in the message."""
    if not is_real_number(value) or not lo <= value <= hi:
        raise error(name, _with_unit(f"in [{lo:g}, {hi:g}]", unit), value)
    return float(value)


def check_int_range(name: str, value, lo: int, hi: int, *, error=InputError) -> int:
    """``value`` as an int if it is an integer in ``[lo, hi]``."""
    if not is_integer(value) or not lo <= value <= hi:
        raise error(name, f"an integer in [{lo}, {hi}]", value)
    return int(value)


def check_choice(name: str, value, choices: tuple, *, error=InputError):
    """``value`` if it is one of ``choices`` (strings, listed in the message in their order)."""
    if value not in choices:
        raise error(name, "one of " + ", ".join(map(str, choices)), value)
    return value


def check_finite(name: str, value, unit: str, *, error=InputError) -> float:
    """``value`` as a float if it is a finite real number, in ``unit``."""
    if not is_real_number(value) or not np.isfinite(value):
        raise error(name, f"a finite number ({unit})", value)
    return float(value)


def check_nonnegative(name: str, value, unit: str, *, error=InputError) -> float:
    """``value`` as a float if it is a finite real number >= 0, in ``unit``."""
    if not is_real_number(value) or not 0 <= value < np.inf:
        raise error(name, f"a finite number >= 0 ({unit})", value)
    return float(value)


def check_instance(name: str, value, kind: type, *, error=InputError) -> None:
    """Refuse ``value`` unless it is a ``kind``; the message names the type given."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[:1] in "AEIOU" else "a"
        raise error(name, f"{article} {kind.__name__}", value, got=type(value).__name__)


def check_shape_2d(name: str, shape, unit: str, *, lo: int = 1, hi: int | None = None,
                   error=InputError) -> tuple[int, int]:
    """``(H, W)`` as ints if ``shape`` is a 2-tuple or list of integers in ``[lo, hi]`` (``unit``:
    what they count, e.g. pixels); without ``hi`` and with ``lo = 1``, any positive integers."""
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 2
        or not all(is_integer(n) and lo <= n and (hi is None or n <= hi) for n in shape)
    ):
        if hi is None and lo == 1:
            raise error(name, f"(H, W) positive integers ({unit})", shape)
        upper = "" if hi is None else f" <= {hi}"
        raise error(name, f"(H, W) with {lo} <= H, W{upper} {unit}", shape)
    return int(shape[0]), int(shape[1])


def check_float_array(name: str, value, layout: str, *, error=InputError) -> None:
    """Refuse ``value`` unless it is a floating-point ndarray; ``layout`` describes its expected
    shape, e.g. ``"(H, W, 3)"``. The message names the type and dtype given."""
    if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
        raise error(name, f"a float ndarray {layout}", value,
                    got=f"{type(value).__name__} {getattr(value, 'dtype', '')}")


def check_finite_array(name: str, array: np.ndarray, *, error=InputError) -> None:
    """Refuse ``array`` if any sample is NaN or infinite; the message counts them."""
    bad = np.count_nonzero(~np.isfinite(array))
    if bad:
        raise error(name, "finite", array, got=f"{bad} NaN/inf samples")


def coerce_rng(rng, *, error=InputError) -> np.random.Generator:
    """A Generator from ``rng``: the Generator itself, or ``numpy.random.default_rng(seed)`` for a
    non-negative int seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(seed_of(rng, error=error))


def seed_of(rng, *, error=InputError) -> int:
    """A non-negative int seed: ``rng`` itself if an int seed, else one draw in ``[0, 2**63)`` from
    the Generator (which advances it)."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    if is_integer(rng) and rng >= 0:
        return int(rng)
    raise error("rng", "a numpy.random.Generator or a non-negative int seed", rng)
