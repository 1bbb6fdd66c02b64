"""Mutation check of the issue #14 pins: each deliberate breakage must make its pin test fail.

For every mutant this script copies the project (engine/, app/, tests/, assets/, pretrained/, ...)
to a temporary folder, applies one realistic breakage there, runs only that breakage's pin tests
with pytest in the copy, and reports ``killed`` (a test failed) or ``survived``. The working tree
is never modified. Text mutations locate their target by a regular expression on the code, in
whichever ``engine/`` or ``app/`` file holds it, so they keep working when code moves between
modules; a pattern that does not match exactly once (over all those files) stops the run with an
error rather than reporting a vacuous result. Before the mutants, the same tests run unmutated in
a copy (the baseline) and must pass.

Run from the project root (minutes: one pytest per mutant, at nice 10):

    .venv/bin/python assets/tools/mutants.py [--only NAME ...] [--list]

Exit status: 0 when every mutant is killed, 1 when one survives, 2 on a setup error (pattern not
found exactly once, baseline failing, the copy importing the original tree).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("engine", "app", "tests", "assets", "pretrained", "pyproject.toml", "setup.cfg", ".streamlit")
SEARCHED = ("engine", "app")
PHYS, COLOR, APP = "tests/test_pins_physics.py", "tests/test_pins_color.py", "tests/test_pins_app.py"
TIMEOUT_S = 900


@dataclass(frozen=True)
class Mutant:
    """One breakage: ``pattern`` (regex, must match once over SEARCHED) replaced by ``replacement``
    (a re.sub template), or ``transform`` applied to the copy's root; ``tests`` are pytest node ids."""

    name: str
    breakage: str
    tests: tuple[str, ...]
    pattern: str | None = None
    replacement: str | None = None
    transform: Callable[[Path], str] | None = field(default=None, compare=False)


def _corrupt_lpips_weights(root: Path) -> str:
    """Scale the LPIPS linear-layer weights of the copy's asset by 1.01 (a re-export gone wrong)."""
    import numpy as np

    path = root / "assets" / "lpips_alex_v0.1.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] * 1.01 if k.startswith("lin") else npz[k] for k in npz.files}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    return str(path.relative_to(root))


MUTANTS = (
    Mutant("ocl_hv_swap", "1: OCL phases' H/V swapped in the optics (sx <-> sy)",
           (f"{PHYS}::test_ocl_psf_centroids_shift_by_the_closed_form_tilt_toward_their_sub_pixel",
            f"{PHYS}::test_sensor_pixels_see_the_scene_shifted_by_their_own_phases_psf"),
           r"\bsy, sx = (\(1\.0 if p // 2 else -1\.0\)), (\(1\.0 if p % 2 else -1\.0\))", r"sx, sy = \1, \2"),
    Mutant("ocl_x_sign", "1: OCL tilt sign flipped along x in the optics",
           (f"{PHYS}::test_ocl_psf_centroids_shift_by_the_closed_form_tilt_toward_their_sub_pixel",
            f"{PHYS}::test_sensor_pixels_see_the_scene_shifted_by_their_own_phases_psf"),
           r"\(1\.0 if p % 2 else -1\.0\)", "(-1.0 if p % 2 else 1.0)"),
    Mutant("ocl_no_sqrt2", "1: OCL tilt applied in full on each axis (the /sqrt2 dropped)",
           (f"{PHYS}::test_ocl_psf_centroids_shift_by_the_closed_form_tilt_toward_their_sub_pixel",),
           r"a, c = ocl\.tilt_waves / math\.sqrt\(2\), ", "a, c = ocl.tilt_waves, "),
    Mutant("sensor_psf_phase_transposed", "1: the sensor takes phase (col, row)'s PSF for pixel (row, col)",
           (f"{PHYS}::test_sensor_pixels_see_the_scene_shifted_by_their_own_phases_psf",),
           r"psf\[p, c\]", "psf[2 * (p % 2) + p // 2, c]"),
    Mutant("sensor_phase_map_transposed", "1: the sensor's phase map written (col, row)",
           (f"{PHYS}::test_sensor_pixels_see_the_scene_shifted_by_their_own_phases_psf",),
           r"2 \* \(np\.arange\(rows\) % 2\)\[:, None\] \+ \(np\.arange\(cols\) % 2\)\[None, :\]",
           "(np.arange(rows) % 2)[:, None] + 2 * (np.arange(cols) % 2)[None, :]"),
    Mutant("fill_dropped_optics", "2: fill factor dropped from the optics' pixel aperture",
           (f"{PHYS}::test_optics_pixel_mtf_is_the_sinc_of_the_fill_factor_aperture",),
           r"design\.pitch_um \* design\.fill_factor\)", "design.pitch_um)"),
    Mutant("fill_dropped_truth", "2: fill factor dropped from the ground truth's box",
           (f"{PHYS}::test_ground_truth_box_is_the_sinc_of_the_fill_factor_aperture",),
           r"width = fill_factor \* oversample", "width = oversample"),
    Mutant("burst_same_noise", "3: every burst frame gets the same noise draw",
           (f"{PHYS}::test_burst_frames_have_independent_noise",),
           r"rng=rng\)(\s*for frame in clean\.clean\))", r"rng=np.random.default_rng(1234))\1"),
    Mutant("ccm_target_rb_swapped", "4: CCM fitted against an R/B-swapped target",
           (f"{COLOR}::test_colorchecker_through_the_camera_matches_colour_science_within_measured_delta_e",),
           r"target = spectra\.colorchecker_linear_srgb\(illuminant\)", "target = spectra.colorchecker_linear_srgb(illuminant)[:, ::-1]"),
    Mutant("export_png_transposed", "5: exported PNGs transposed",
           (f"{APP}::test_export_zip_images_csv_and_link_read_back",),
           r"png_bytes\(image\) for name, image in images\.items\(\)",
           "png_bytes(image.transpose(1, 0, 2).copy()) for name, image in images.items()"),
    Mutant("export_png_black", "5: exported PNGs black",
           (f"{APP}::test_export_zip_images_csv_and_link_read_back",),
           r"Image\.fromarray\(array\)\.save\(buffer, format=\"PNG\"", 'Image.fromarray(0 * array).save(buffer, format="PNG"'),
    Mutant("export_csv_last_row_lost", "5: exported CSV loses its last row",
           (f"{APP}::test_export_zip_images_csv_and_link_read_back",),
           r"writer\.writerows\(rows\)(\s*return buffer\.getvalue\(\)\.encode)", r"writer.writerows(rows[:-1])\1"),
    Mutant("link_tilt_from_coma", "5: the shared link writes the OCL coma as the tilt",
           (f"{APP}::test_export_zip_images_csv_and_link_read_back",),
           r'query\["tilt"\] = format_number\(design\.ocl\.tilt_waves\)', 'query["tilt"] = format_number(design.ocl.coma_waves)'),
    Mutant("lpips_weights_corrupt", "6: LPIPS weights asset altered (lin layers x 1.01)",
           (f"{COLOR}::test_lpips_weights_asset_is_the_pinned_file", f"{COLOR}::test_lpips_offline_golden_values"),
           transform=_corrupt_lpips_weights),
    Mutant("lpips_no_unit_norm", "6: LPIPS features not unit-normalised per channel",
           (f"{COLOR}::test_lpips_offline_golden_values",),
           r"return \[self\._unit\(f\) for f in self\.features\(x\)\]", "return list(self.features(x))"),
    Mutant("table2_lens_ignored", "7: the lens's Zernike terms ignored (perfect lens)",
           (f"{PHYS}::test_table2_quick_demosaic_mtf50_within_15_percent_of_the_paper",),
           r"base = wavefront_waves\(design\.zernike_dict, rho, theta\)", "base = 0 * wavefront_waves(design.zernike_dict, rho, theta)"),
    Mutant("table2_pupil_not_stopped_down", "7: the working pupil not truncated by the F# (always F/N_ref)",
           (f"{PHYS}::test_table2_quick_demosaic_mtf50_within_15_percent_of_the_paper",),
           r"return self\.f_number_ref / self\.f_number\b", "return 1.0"),
    Mutant("imaging_hash_skips_fill", "8: imaging_hash leaves out the fill factor",
           (f"{APP}::test_every_design_field_changes_the_design_hash_and_all_but_the_exempt_the_imaging_hash",),
           r'NUMERICAL_FIELDS = \("oversample",\)', 'NUMERICAL_FIELDS = ("oversample", "fill_factor")'),
    Mutant("design_hash_skips_burst", "8: design_hash leaves out the burst length",
           (f"{APP}::test_every_design_field_changes_the_design_hash_and_all_but_the_exempt_the_imaging_hash",),
           r"return _short_hash\(self\.to_dict\(\)\)", 'return _short_hash({k: v for k, v in self.to_dict().items() if k != "burst"})'),
    Mutant("url_view_g_format", "9: the link writes the crop position with :g (6 digits)",
           (f"{APP}::test_view_survives_the_url_round_trip_exactly",),
           r'"app_x": format_number\(view\.crop_x\)', '"app_x": f"{view.crop_x:g}"'),
)


def copy_project(dest: Path) -> None:
    """The project files tests need, without .git, .venv, out/ and caches (numba caches kept)."""
    ignore = shutil.ignore_patterns("*.pyc", ".pytest_cache")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, dest / name)


def apply_text(root: Path, mutant: Mutant) -> str:
    """Apply ``mutant``'s regex in the one file that matches; returns that file; ValueError unless
    exactly one match over all SEARCHED .py files."""
    hits = []
    for folder in SEARCHED:
        for path in sorted((root / folder).rglob("*.py")):
            text = path.read_text()
            hits += [(path, text)] * len(re.findall(mutant.pattern, text))
    if len(hits) != 1:
        where = sorted({str(p.relative_to(root)) for p, _ in hits})
        raise ValueError(f"{mutant.name}: pattern {mutant.pattern!r} matched {len(hits)} times {where}, expected once")
    path, text = hits[0]
    path.write_text(re.sub(mutant.pattern, mutant.replacement, text, count=1))
    return str(path.relative_to(root))


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[int, str, float]:
    """pytest on ``tests`` inside the copy at ``root``: (exit code, output tail, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["nice", "-n", "10", sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-o",
           "addopts=", *tests]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return proc.returncode, (proc.stdout + proc.stderr)[-1500:], time.perf_counter() - start


def check_isolated(root: Path) -> None:
    """The copy must import its own engine and app, not the editable install's."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", "import engine, app; print(engine.__file__); print(app.__file__)"],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout.split()
    if not all(Path(p).resolve().is_relative_to(root.resolve()) for p in out):
        raise RuntimeError(f"the copy imports {out}, not its own files under {root}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (not for the record)")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list or not mutants:
        for m in MUTANTS:
            print(f"{m.name:32s} {m.breakage}")
        return 0 if args.list else 2
    with tempfile.TemporaryDirectory(prefix="smallpix-mutants-") as tmp:
        base = Path(tmp) / "base"
        copy_project(base)
        check_isolated(base)
        for m in mutants:  # every pattern must be found once before anything runs
            if m.pattern:
                trial = Path(tmp) / "trial"
                shutil.copytree(base / "engine", trial / "engine")
                shutil.copytree(base / "app", trial / "app")
                try:
                    apply_text(trial, m)
                except ValueError as err:
                    print(f"ERROR {err}", file=sys.stderr)
                    return 2
                finally:
                    shutil.rmtree(trial)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
            code, tail, seconds = run_tests(base, tests)
            print(f"baseline (unmutated, {len(tests)} tests): {'pass' if code == 0 else 'FAIL'} in {seconds:.0f} s")
            if code != 0:
                print(tail, file=sys.stderr)
                return 2
        results = []
        for m in mutants:
            work = Path(tmp) / m.name
            shutil.copytree(base, work, symlinks=True)
            where = apply_text(work, m) if m.pattern else m.transform(work)
            code, tail, seconds = run_tests(work, m.tests)
            status = "killed" if code == 1 else "survived" if code == 0 else f"error (pytest exit {code})"
            results.append((m, where, status, seconds))
            print(f"{m.name:32s} {status:9s} {seconds:5.0f} s  {where}", flush=True)
            if code not in (0, 1):
                print(tail, file=sys.stderr)
            shutil.rmtree(work)
    print("\n| mutant | breakage | file | result |\n|---|---|---|---|")
    for m, where, status, _ in results:
        print(f"| {m.name} | {m.breakage} | {where} | {status} |")
    survived = [m.name for m, _, status, _ in results if status != "killed"]
    print(f"\n{len(results) - len(survived)}/{len(results)} killed" + (f"; not killed: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
