"""``study --designs FILE``: what an entry may leave out, errors that name the entry before any
work, and the report's warning where the universal net runs outside its training range."""

import json
import re

import pytest

from engine.cli import main
from engine.design import preset
from engine.optics import min_oversample
from engine.study_designs import load_designs


def write(tmp_path, entries) -> str:
    path = tmp_path / "designs.json"
    path.write_text(json.dumps({"designs": entries}))
    return str(path)


def test_an_entry_overrides_its_preset_and_gets_the_oversampling_its_psf_needs(tmp_path):
    designs = load_designs(write(tmp_path, [
        {"name": "lens_at_f2", "preset": "0.35", "f_number": 2.0, "snr_db": 20},
        {"name": "fast_perfect", "pitch_um": 0.6, "f_number": 1.4, "cfa": "quad"},
    ]))
    assert designs["lens_at_f2"] == preset("0.35").replace(f_number=2.0, snr_db=20.0)
    fast = designs["fast_perfect"]
    assert fast.zernike == () and fast.cfa == "quad"
    assert fast.oversample == min_oversample(0.6, 1.4) > 2


@pytest.mark.parametrize("entry, message", [
    ({"name": "coarse", "pitch_um": 0.6, "f_number": 1.4, "oversample": 2},
     r"entry 1 \(coarse\): oversample must be at least 3 at pitch 0.6 um and F/1.4 .*, got 2"),
    ({"name": "typo", "preset": "0.33"}, r"entry 1 \(typo\): preset must be one of 0.75, .*, got '0.33'"),
    ({"pitch_um": 0.5, "f_number": 2.0, "colour": "red"}, r"entry 1 \(design_01\): .*colour"),
])
def test_a_wrong_entry_is_named_before_any_design_is_measured(tmp_path, capsys, entry, message):
    path = write(tmp_path, [{"preset": "0.75"}, entry])
    assert main(["study", "--designs", path, "--quick"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and re.search(message, err), err


def test_the_report_warns_where_the_universal_net_is_outside_its_training_range(tmp_path, capsys):
    path = write(tmp_path, [{"name": "tiny", "preset": "0.35", "pitch_um": 0.25, "f_number": 1.7}])
    assert main(["study", "--designs", path, "--quick", "--max-images", "1"]) == 0
    out = capsys.readouterr().out
    assert "tiny: Neural ISP outside the universal net's training range: pitch_um 0.25 um (trained 0.3-1.3 um)" in out
