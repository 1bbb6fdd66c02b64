"""Pins on the design identity, links, exports and caching (issue #14), each failing on one
deliberate breakage (``assets/tools/mutants.py``):

* Every DesignPoint field (enumerated, so a new field is covered) changes ``design_hash``; every one
  but the listed exceptions changes ``imaging_hash``, and the exceptions do not.
* A design and view survive design -> URL query -> design exactly, awkward floats included.
* The export ZIP's PNGs decode to the crops (shape, orientation, 8-bit values), its CSV rows read
  back, and its link parses back to the same design and view.
* An SNR change does not recompute the ground truth.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zipfile
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from PIL import Image

from app import compute, export, state
from engine import design as design_module
from engine.design import DesignPoint, OCLOffsets, from_query, preset, to_query

IMAGING_HASH_EXEMPT = {
    "snr_db": "noise reaches the Neural ISP as the sigma map: one net serves every SNR",
    "flux": "a flux mode only changes the SNR (as snr_db)",
    "burst": "the network is single-frame (bursts are processed from the reference frame)",
    "oversample": "numerical: once Nyquist-sampled a capture does not depend on it",
}
"""DesignPoint fields that by design leave ``imaging_hash`` unchanged (design.md, Neural ISP)."""


def _alternatives(value):
    """Candidate different values of a design field of ``value``'s type, most plausible first."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value * 0.9, value * 1.1, value + 0.01, value - 0.01, 0.5, 1.0]
    if isinstance(value, str):  # the engine's tuples of choices (CFA_LAYOUTS, FLUX_MODES, ...)
        choices = [c for v in vars(design_module).values() if isinstance(v, tuple) and value in v for c in v]
        return [c for c in choices if c != value]
    if isinstance(value, tuple):  # Zernike terms
        return [value + ((37, 0.01),), value[1:]]
    return []


def _changed_designs(base: DesignPoint):
    """(dotted field name, a valid design differing from ``base`` in that field only), for every
    field of DesignPoint and of its nested dataclasses (OCLOffsets)."""
    for f in dataclasses.fields(base):
        value = getattr(base, f.name)
        if dataclasses.is_dataclass(value):
            for inner in dataclasses.fields(value):
                for alt in _alternatives(getattr(value, inner.name)):
                    try:
                        yield f"{f.name}.{inner.name}", base.replace(**{f.name: dataclasses.replace(value, **{inner.name: alt})})
                        break
                    except ValueError:
                        continue
                else:
                    pytest.fail(f"no valid alternative value for {f.name}.{inner.name}: extend _alternatives")
            continue
        for alt in _alternatives(value):
            try:
                yield f.name, base.replace(**{f.name: alt})
                break
            except ValueError:
                continue
        else:
            pytest.fail(f"no valid alternative value for DesignPoint.{f.name}: extend _alternatives")


def test_every_design_field_changes_the_design_hash_and_all_but_the_exempt_the_imaging_hash():
    base = preset("0.45")
    names = []
    for name, changed in _changed_designs(base):
        names.append(name)
        assert changed.design_hash() != base.design_hash(), f"design_hash ignores {name}"
        top = name.split(".")[0]
        if top in IMAGING_HASH_EXEMPT:
            assert changed.imaging_hash() == base.imaging_hash(), f"imaging_hash depends on exempt {name}"
        else:
            assert changed.imaging_hash() != base.imaging_hash(), f"imaging_hash ignores {name}"
    assert len(names) >= 13 and set(IMAGING_HASH_EXEMPT) <= set(names), names


AWKWARD_VIEW = state.ViewState(preset="custom", crop_x=0.123456789, crop_y=1 / 3, zoom=2, zoom_x=0.987654321,
                               zoom_y=2 / 7, seed=12345, tab="Lens", phase=3)
AWKWARD_DESIGN = DesignPoint(
    pitch_um=0.3456789, f_number=2.123456789, f_number_ref=1.4, zernike=((4, 0.0123456789), (11, -1 / 3)),
    ocl=OCLOffsets(True, 0.0123456789, -0.0987654321), cfa="quad", snr_db=35.123456789, flux="physical",
    oversample=3, fill_factor=0.87654321, burst=3,
)


def _through_link(design: DesignPoint, view: state.ViewState):
    link = state.link("http://localhost:8501/?stale=1", state.query_from_state(design, view))
    return state.state_from_query(dict(parse_qsl(urlsplit(link).query, keep_blank_values=True)))


def test_view_survives_the_url_round_trip_exactly():
    design, view, warnings = _through_link(preset("0.35"), AWKWARD_VIEW)
    assert warnings == []
    assert view == AWKWARD_VIEW and design == preset("0.35")


def test_round_values_keep_short_links():
    query = state.query_from_state(preset("0.35"), state.ViewState(crop_x=0.5, zoom_x=1.0))
    assert (query["app_x"], query["app_zx"]) == ("0.5", "1")


def test_design_survives_the_url_round_trip_exactly():
    design, view, warnings = _through_link(AWKWARD_DESIGN, AWKWARD_VIEW)
    assert warnings == []
    assert from_query(to_query(AWKWARD_DESIGN)) == AWKWARD_DESIGN
    assert design == AWKWARD_DESIGN and view == AWKWARD_VIEW


def _export(design: DesignPoint, view: state.ViewState, images: dict, tables: dict) -> zipfile.ZipFile:
    link = state.link("http://localhost:8501/", state.query_from_state(design, view))
    data = export.zip_bytes(design=design.to_dict(), link=link, view=dataclasses.asdict(view), figures={},
                            images=images, tables=tables, render_figures=False, stamp_text=export.stamp(design))
    return zipfile.ZipFile(io.BytesIO(data))


def test_export_zip_images_csv_and_link_read_back():
    """Non-square crops (12 x 20 px) with distinct values catch a transposed, flipped or blank PNG."""
    rng = np.random.default_rng(3)
    images = {"ground_truth": rng.uniform(0, 1, (12, 20, 3)).astype(np.float32),
              "demosaic": np.linspace(-0.1, 1.1, 12 * 20 * 3, dtype=np.float32).reshape(12, 20, 3), "neural": None}
    rows = [{"freq_cyc_per_mm": 100.0, "mtf": 0.75}, {"freq_cyc_per_mm": 200.5, "mtf": 0.25, "note": "x"}]
    design = preset("0.45").replace(snr_db=27.5, zernike=((4, 0.05), (11, -0.1)), ocl=OCLOffsets(True, 0.04, 0.03))
    view = state.ViewState(scene="siemens_star", tab="MTF", crop_x=0.25)
    archive = _export(design, view, images, {"mtf": rows, "empty": []})
    names = set(archive.namelist())
    assert {"images/ground_truth.png", "images/demosaic.png", "data/mtf.csv", "design.json"} <= names
    assert "images/neural.png" not in names and "data/empty.csv" not in names
    for name in ("ground_truth", "demosaic"):
        decoded = np.asarray(Image.open(io.BytesIO(archive.read(f"images/{name}.png"))).convert("RGB"))
        expected = np.round(np.clip(images[name], 0, 1) * 255).astype(np.uint8)
        assert decoded.shape == (12, 20, 3), name
        np.testing.assert_array_equal(decoded, expected, err_msg=name)
    read = list(csv.DictReader(io.StringIO(archive.read("data/mtf.csv").decode("utf-8"))))
    assert read == [{"freq_cyc_per_mm": "100.0", "mtf": "0.75", "note": ""},
                    {"freq_cyc_per_mm": "200.5", "mtf": "0.25", "note": "x"}]
    meta = json.loads(archive.read("design.json"))
    assert DesignPoint.from_dict(meta["design"]) == design
    linked_design, linked_view, warnings = state.state_from_query(dict(parse_qsl(urlsplit(meta["link"]).query)))
    assert warnings == [] and linked_design == design and linked_view == view


def test_snr_change_does_not_recompute_the_ground_truth(monkeypatch):
    """Two runs differing only in SNR: the ground-truth stage keeps its token (a cache hit) and the
    second run renders no ground truth through the colour chain."""
    view = state.ViewState(scene="dead_leaves", size_px=128, seed=11)
    design = preset("0.45").replace(snr_db=31.0)
    first = compute.Run(design, view)
    first.reference_image()
    calls = []
    original = compute.cache.color.camera_to_display

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(compute.cache.color, "camera_to_display", counting)
    second = compute.Run(design.replace(snr_db=19.0), view)
    image = second.reference_image()
    np.testing.assert_array_equal(image, first.reference_image())
    assert second.capture().raw.std() != first.capture().raw.std()  # the SNR change did reach the RAW
    assert second.log["ground truth"][1] == first.log["ground truth"][1]
    assert calls == []


def test_image_metrics_csv_names_the_neural_net_and_says_why_a_panel_is_missing():
    from types import SimpleNamespace

    outputs = {"demosaic": SimpleNamespace(value=np.zeros((2, 2, 3)), message=None),
               "deconv": SimpleNamespace(value=None, message="no PSF"),
               "neural": SimpleNamespace(value=np.zeros((2, 2, 3)), message=None)}
    rows = export.image_metrics_rows(outputs, lambda p: {"psnr_db": {"demosaic": 30.0, "neural": 33.0}[p]},
                                     "universal net (trained on random designs)")
    assert rows == [{"pipeline": "demosaic", "psnr_db": 30.0},
                    {"pipeline": "deconv", "unavailable": "no PSF"},
                    {"pipeline": "neural", "psnr_db": 33.0, "neural_net": "universal net (trained on random designs)"}]
    read = list(csv.DictReader(io.StringIO(export.csv_bytes(rows).decode("utf-8"))))
    assert read[2]["neural_net"].startswith("universal net") and read[0]["neural_net"] == ""
