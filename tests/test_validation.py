"""engine.validation: each shared check accepts what it should (as a plain Python value), refuses the
rest with an InputError of the requested kind naming field, allowed range and value, and the RNG
coercions keep the two behaviours the engine relies on."""

import numpy as np
import pytest

from engine.design import DesignError
from engine.validation import (
    InputError,
    MismatchError,
    check_choice,
    check_finite,
    check_finite_array,
    check_float_array,
    check_instance,
    check_int_range,
    check_nonnegative,
    check_range,
    check_shape_2d,
    coerce_rng,
    seed_of,
)


def test_accepted_values_come_back_as_plain_python():
    assert type(check_range("x", np.float32(0.5), 0, 1)) is float
    assert type(check_int_range("n", np.int64(3), 1, 4)) is int
    assert check_shape_2d("shape", [np.int32(8), 4], "pixels") == (8, 4)
    assert check_nonnegative("e", 0, "electrons") == 0.0
    assert check_finite("snr_db", -3, "dB") == -3.0
    assert check_choice("cfa", "quad", ("hex", "quad")) == "quad"


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda: check_range("pitch_um", float("nan"), 0.2, 2.0, "um"), r"pitch_um must be in \[0.2, 2\] um, got nan"),
        (lambda: check_range("x", True, 0, 1), r"x must be in \[0, 1\], got True"),
        (lambda: check_int_range("frames", 2.0, 1, 16), r"frames must be an integer in \[1, 16\], got 2.0"),
        (lambda: check_choice("noise", "laplace", ("gaussian", "none")), "noise must be one of gaussian, none, got 'laplace'"),
        (lambda: check_finite("snr_db", float("inf"), "dB"), r"snr_db must be a finite number \(dB\), got inf"),
        (lambda: check_nonnegative("read_noise_e", -1.0, "electrons"), r"must be a finite number >= 0 \(electrons\), got -1.0"),
        (lambda: check_instance("design", {}, InputError), "design must be an InputError, got dict"),
        (lambda: check_shape_2d("shape", (8, 0), "pixels"), r"shape must be \(H, W\) positive integers \(pixels\), got \(8, 0\)"),
        (lambda: check_shape_2d("shape", (2, 8), "samples", lo=4, hi=16), r"\(H, W\) with 4 <= H, W <= 16 samples, got \(2, 8\)"),
        (lambda: check_float_array("scene", np.zeros(2, np.uint8), "(H, W, 3)"), r"a float ndarray \(H, W, 3\), got ndarray uint8"),
        (lambda: check_finite_array("psf", np.array([np.nan, np.inf, 0.0])), "psf must be finite, got 2 NaN/inf samples"),
        (lambda: coerce_rng(-1), "rng must be a numpy.random.Generator or a non-negative int seed, got -1"),
        (lambda: seed_of(True), "got True"),
    ],
)
def test_refusals_name_field_allowed_and_value(check, message):
    with pytest.raises(InputError, match=message):
        check()


def test_the_error_kind_is_the_callers():
    with pytest.raises(DesignError) as info:
        check_range("snr_db", 80.0, 0.0, 60.0, "dB", error=DesignError)
    assert (info.value.field_name, info.value.allowed, info.value.value) == ("snr_db", "in [0, 60] dB", 80.0)
    assert issubclass(MismatchError, InputError) and issubclass(InputError, ValueError)
    assert str(MismatchError("design", "the capture's", 1)) == "design must match the capture's, got 1"


def test_rng_coercion_keeps_generators_and_seeds():
    generator = np.random.default_rng(3)
    assert coerce_rng(generator) is generator
    assert coerce_rng(np.int64(7)).random() == np.random.default_rng(7).random()
    assert seed_of(11) == 11
    assert seed_of(np.random.default_rng(5)) == int(np.random.default_rng(5).integers(0, 2**63))
