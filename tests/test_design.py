"""Design point validation, presets and (de)serialisation."""

import json

import pytest

from engine.design import (
    DesignError,
    DesignPoint,
    OCLOffsets,
    format_zernike,
    from_query,
    parse_zernike,
    preset,
    presets,
    to_query,
)


def test_five_table1_presets_scale_f_number_with_pitch():
    table = presets()
    assert list(table) == ["0.75", "0.65", "0.55", "0.45", "0.35"]
    for design in table.values():
        assert design.f_number / design.pitch_um == pytest.approx(3.55 / 0.75, rel=0.02)
        assert design.cfa == "hex" and design.ocl.enabled and design.zernike


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"pitch_um": 0.1}, r"pitch_um must be in \[0.2, 2\] um, got 0.1"),
        ({"pitch_um": float("nan")}, r"pitch_um must be in \[0.2, 2\] um, got nan"),
        ({"f_number": 1.2}, r"f_number must be in \[1.4, 16\] \(f_number_ref to 16\), got 1.2"),
        ({"f_number": 17.0}, r"f_number must be in \[1.4, 16\]"),
        ({"zernike": ((4, 2.5),)}, r"zernike Z4 must be in \[-2, 2\] waves, got 2.5"),
        ({"zernike": ((38, 0.1),)}, r"zernike must be Noll indices in \[1, 37\], got 38"),
        ({"zernike": ((0, 0.1),)}, r"zernike must be Noll indices in \[1, 37\], got 0"),
        ({"cfa": "xtrans"}, r"cfa must be one of hex, quad, bayer, got 'xtrans'"),
        ({"flux": "fixed"}, r"flux must be one of hold, physical, got 'fixed'"),
        ({"snr_db": 80.0}, r"snr_db must be in \[0, 60\] dB, got 80.0"),
        ({"oversample": 2.5}, r"oversample must be an integer in \[1, 16\], got 2.5"),
        ({"burst": 0}, r"burst must be an integer in \[1, 16\], got 0"),
    ],
)
def test_invalid_fields_name_field_range_and_value(changes, message):
    with pytest.raises(DesignError, match=message):
        preset("0.35").replace(**changes)


def test_ocl_offsets_are_validated():
    with pytest.raises(DesignError, match=r"ocl.tilt_waves must be in \[-0.5, 0.5\] waves, got 0.9"):
        OCLOffsets(True, 0.9, 0.0)


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(DesignError, match=r"preset must be one of 0.75, 0.65, 0.55, 0.45, 0.35, got '0.5'"):
        preset("0.5")
    assert preset("0.350") == presets()["0.35"]


def test_zernike_text_round_trip_and_errors():
    terms = parse_zernike("Z4=0.05, Z11=-0.1")
    assert terms == ((4, 0.05), (11, -0.1))
    assert parse_zernike(format_zernike(terms)) == terms
    assert parse_zernike("none") == ()
    with pytest.raises(DesignError, match="Z4:0.05"):
        parse_zernike("Z4:0.05")
    with pytest.raises(DesignError, match="Z4=abc"):
        parse_zernike("Z4=abc")


def test_dict_and_query_round_trip():
    design = preset("0.45").replace(cfa="quad", snr_db=20.0, ocl=OCLOffsets(False, 0.01, -0.02), burst=4)
    assert DesignPoint.from_dict(json.loads(json.dumps(design.to_dict()))) == design
    assert from_query(to_query(design)) == design
    assert from_query({"pitch": "0.6", "fnum": "2.8"}).pitch_um == 0.6
    with pytest.raises(DesignError, match="pitch_um must be a float, got 'abc'"):
        from_query({"pitch": "abc"})


def test_design_hash_tracks_every_field():
    base = preset("0.35")
    assert base.design_hash() == preset("0.35").design_hash()
    assert base.design_hash() != base.replace(snr_db=30.0).design_hash()
    assert base.design_hash() != base.replace(zernike=((4, 0.1),)).design_hash()


def test_equal_designs_hash_alike():
    """Canonical floats: 2 == 2.0 and -0.0 == 0.0 give one design hash (and one weight lookup)."""
    base = preset("0.35")
    as_int = base.replace(f_number=2, snr_db=35, ocl=OCLOffsets(1, -0.0, 0.03))
    as_float = base.replace(f_number=2.0, snr_db=35.0, ocl=OCLOffsets(True, 0.0, 0.03))
    assert as_int.design_hash() == as_float.design_hash()
    assert as_int.imaging_hash() == as_float.imaging_hash()
    assert json.dumps(as_int.to_dict()) == json.dumps(as_float.to_dict())
    with pytest.raises(DesignError, match="ocl.enabled must be true or false"):
        OCLOffsets("yes", 0.0, 0.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"zernike must be a list like 'Z4=0.05,Z11=-0.1' or 'none', got ''"),
        (" , ", r"zernike must be a list like"),
        ("Z4=0.1,Z4=0.2", r"zernike Z4 must be given once, got '0.1 and 0.2'"),
    ],
)
def test_zernike_text_must_say_what_it_means(text, message):
    with pytest.raises(DesignError, match=message):
        parse_zernike(text)
