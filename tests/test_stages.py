"""The stage table of engine/simulate.py: each stage's output depends on the design fields it lists
and on no other, and the staged capture equals the one-call sensor model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine import scenes, sensor, simulate
from engine.design import DesignPoint, OCLOffsets, preset

BASE = preset("0.55").replace(oversample=2)
OTHER_VALUES = {
    "pitch_um": 0.6, "f_number": 2.8, "f_number_ref": 1.3, "zernike": ((4, 0.05),),
    "ocl": OCLOffsets(tilt_waves=0.05), "cfa": "bayer", "snr_db": 20.0, "flux": "physical", "oversample": 3,
    "fill_factor": 0.8, "burst": 2,
}


def test_every_design_field_has_an_alternative_value_here():
    assert set(OTHER_VALUES) == set(simulate.DESIGN_FIELDS)


@pytest.mark.parametrize("stage", sorted(simulate.STAGE_FIELDS))
def test_stage_keys_change_exactly_with_the_fields_the_stage_reads(stage):
    for name, value in OTHER_VALUES.items():
        changed = BASE.replace(**{name: value})
        same_key = simulate.stage_key(stage, changed) == simulate.stage_key(stage, BASE)
        assert same_key == (name not in simulate.STAGE_FIELDS[stage]), (stage, name)


def test_imaging_hash_is_the_neural_weights_stage():
    for name, value in OTHER_VALUES.items():
        changed = BASE.replace(**{name: value})
        assert (changed.imaging_hash() == BASE.imaging_hash()) == (name not in simulate.STAGE_FIELDS["neural_weights"])


def test_psfs_do_not_depend_on_fields_outside_the_psf_stage():
    unread = [f.name for f in dataclasses.fields(DesignPoint) if f.name not in simulate.STAGE_FIELDS["psf"]]
    assert set(unread) == {"cfa", "snr_db", "flux", "burst"}
    a = simulate.psfs_for(BASE, 32)
    b = simulate.psfs_for(BASE.replace(cfa="quad", snr_db=12.0, flux="physical", burst=3), 32)
    assert a is b  # the same cached PSF set: the key is the optics fields
    fresh = simulate.optics.compute_psfs(BASE.replace(cfa="quad", snr_db=12.0), size=32)
    np.testing.assert_array_equal(fresh.psf_pixel, a.psf_pixel)


def test_clean_frames_do_not_depend_on_the_noise_fields():
    capturer = simulate.SceneCapturer(BASE, 32)
    image = capturer.render("dead_leaves", 5)
    noisy_design = BASE.replace(snr_db=12.0, flux="physical")
    a = sensor.render_clean(image, capturer.otf, BASE, rng=np.random.default_rng(5))
    b = sensor.render_clean(image, capturer.otf, noisy_design, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.clean, b.clean)
    assert simulate.stage_key("clean", BASE) == simulate.stage_key("clean", noisy_design)


def test_ground_truth_does_not_depend_on_the_optics():
    image = scenes.render_scene("dead_leaves", BASE.dx_um, (64, 64), rng=1)
    a = sensor.prepare_scene(image, BASE).ground_truth
    b = sensor.prepare_scene(image, BASE.replace(f_number=4.0, zernike=(), cfa="quad", snr_db=5.0)).ground_truth
    np.testing.assert_array_equal(a, b)
    c = sensor.prepare_scene(image, BASE.replace(fill_factor=0.5)).ground_truth
    assert not np.array_equal(a, c)  # the pixel aperture is read


def test_staged_capture_equals_the_one_call_sensor_model():
    design = BASE.replace(burst=2)
    capture = simulate.capture_scene(design, "text", 32, seed=4)
    psfs = simulate.psfs_for(design)
    margin = simulate.margin_px(design, psfs.psf_pixel.shape[-1])
    image = scenes.render_scene("text", design.dx_um, simulate.scene_samples(design, 32, margin), rng=4)
    whole = simulate.crop_capture(sensor.simulate_raw(image, psfs.psf_pixel, design, rng=np.random.default_rng(4)),
                                  margin)
    for field in ("raw", "noise_sigma", "cfa", "phase", "ground_truth", "shifts_px"):
        np.testing.assert_array_equal(getattr(capture, field), getattr(whole, field), err_msg=field)
