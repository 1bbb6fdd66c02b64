"""Fuzz the command line against its error contract (README, "CLI error contract"; issue #13).

Every case is an argv for ``python -m engine``, drawn by a seeded generator over every subcommand:
design options with valid and hostile values (nan, inf, -0.0, 1e400, huge integers, empty text),
output paths that cannot be written ('', '-', a folder, a trailing slash, a parent that is a file, a
name too long, /proc, a wrong extension, an existing file to be kept), and inputs that are hostile
(a FIFO, a folder, /dev/null, an empty file, text, a truncated zip, RAW npz files with malformed
``design_json``, object or record arrays, NaN, a RAW too small, and one whose header declares
16384 x 16384). Valid cases are kept tiny so a case costs well under a second.

A case passes when: the exit status is 0 or 2; nothing on stderr says "Traceback"; a failure prints
exactly one line on stderr; a failure leaves the case's folder as it was (no output or temporary
file, an existing file unchanged); a success leaves no temporary file.

Run: ``.venv/bin/python benchmarks/fuzz_cli.py --cases 1000 [--seed 0] [--workers 2] [--timeout 60]``
prints the counts of exit statuses, tracebacks, hangs (a case past ``--timeout`` seconds is killed)
and contract violations, and lists each failing case. Cases run in-process in worker processes (the
engine imported once); ``--subprocess-cases N`` also runs N cases as real ``python -m engine``.
tests/test_cli_fuzz.py runs 250 of the same kind of cases (another seed) in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEMP_PREFIX = ".smallpix-"  # engine.fileio's temporary files

# --- fixtures ------------------------------------------------------------------------------------


def _save_npz(path: Path, arrays: dict, **kwargs) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays, **kwargs)


def _npz_with_header(path: Path, arrays: dict, name: str, shape: tuple[int, ...]) -> None:
    """``arrays`` as an npz plus a member ``name`` that declares ``shape`` float32 but holds only a
    few bytes of data (loading it would allocate the whole declared array first)."""
    _save_npz(path, arrays)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(f"{name}.npy", buffer.getvalue() + b"\0" * 64)


def make_fixtures(folder: Path) -> dict[str, str]:
    """Input files for the cases: fixture name -> absolute path (good and hostile RAW npz, special files)."""
    from engine.design import preset
    from engine.simulate import capture_scene

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def add(name: str) -> Path:
        paths[name] = folder / name
        return paths[name]

    good = capture_scene(preset("0.35"), "dead_leaves", 16, seed=0)
    with open(add("good.npz"), "wb") as handle:
        good.to_npz(handle)
    burst = capture_scene(preset("0.35").replace(burst=2), "dead_leaves", 16, seed=1)
    with open(add("burst.npz"), "wb") as handle:
        burst.to_npz(handle)
    base = dict(np.load(paths["good.npz"]))
    design = json.loads(str(base["design_json"]))

    def variant(name: str, **changes) -> None:
        _save_npz(add(name), {**base, **changes})

    def design_variant(name: str, text: str) -> None:
        variant(name, design_json=np.array(text))

    design_variant("json_bad.npz", "{not json")
    design_variant("json_missing_key.npz", json.dumps({k: v for k, v in design.items() if k != "burst"}))
    design_variant("json_extra_key.npz", json.dumps({**design, "colour": "red"}))
    design_variant("json_wrong_type.npz", json.dumps({**design, "pitch_um": "abc"}))
    design_variant("json_zernike_list.npz", json.dumps({**design, "zernike": [1, 2]}))
    design_variant("json_zernike_key.npz", json.dumps({**design, "zernike": {"Zx": 0.1}}))
    design_variant("json_ocl_string.npz", json.dumps({**design, "ocl": "on"}))
    design_variant("json_huge_int.npz", json.dumps(design).replace('"pitch_um": 0.35', '"pitch_um": ' + "9" * 400))
    design_variant("json_huge_digits.npz", '{"pitch_um": ' + "1" * 5000 + "}")
    design_variant("json_huge_zernike.npz", json.dumps({**design, "zernike": {"Z4": 10**400}}))
    design_variant("json_deep.npz", "[" * 100_000 + "]" * 100_000)
    design_variant("json_array.npz", "[]")
    design_variant("json_burst_mismatch.npz", json.dumps({**design, "burst": 3}))
    design_variant("json_quad.npz", json.dumps({**design, "cfa": "quad"}))
    variant("raw_nan.npz", raw=np.full_like(base["raw"], np.nan))
    variant("raw_inf_sigma.npz", noise_sigma=np.full_like(base["noise_sigma"], np.inf))
    variant("raw_negative_sigma.npz", noise_sigma=-base["noise_sigma"])
    variant("raw_int.npz", raw=base["raw"].astype(np.int32))
    variant("raw_1d.npz", raw=base["raw"].ravel())
    variant("raw_small.npz", raw=base["raw"][:8, :8], noise_sigma=base["noise_sigma"][:8, :8], cfa=base["cfa"][:8, :8],
            phase=base["phase"][:8, :8], ground_truth=base["ground_truth"][:8, :8])
    variant("raw_empty.npz", raw=np.zeros((0, 0), np.float32))
    variant("raw_shape_mismatch.npz", noise_sigma=base["noise_sigma"][:8])
    variant("raw_cfa_wrong.npz", cfa=np.zeros_like(base["cfa"]))
    variant("raw_phase_wrong.npz", phase=np.full_like(base["phase"], 7))
    variant("raw_float128.npz", raw=base["raw"].astype(np.longdouble))
    _save_npz(add("raw_object.npz"), {**base, "raw": np.array([{"a": 1}], dtype=object)}, allow_pickle=True)
    _save_npz(add("raw_record.npz"), {**base, "raw": np.zeros(4, dtype=[("a", "<f4"), ("b", "<i4")])})
    _save_npz(add("raw_missing.npz"), {k: v for k, v in base.items() if k != "noise_sigma"})
    _npz_with_header(add("raw_huge_header.npz"), {k: v for k, v in base.items() if k != "raw"}, "raw", (16384, 16384))
    with zipfile.ZipFile(add("zip_text_member.npz"), "w") as archive:
        archive.writestr("raw.txt", "hello")
    add("truncated.npz").write_bytes(paths["good.npz"].read_bytes()[:2000])
    add("empty.npz").write_bytes(b"")
    add("text.npz").write_text("not an npz\n")
    add("not_image.png").write_text("not an image\n")
    add("garbage.ckpt").write_bytes(b"\x80\x04garbage")
    add("grid_bad.json").write_text("{not json")
    for name, entry in (("designs_coarse.json", {"pitch_um": 0.6, "f_number": 1.4, "oversample": 2}),
                        ("designs_typo.json", {"preset": "0.33"}),
                        ("designs_field.json", {"pitch_um": 0.5, "colour": 1})):
        add(name).write_text(json.dumps({"designs": [{"preset": "0.75"}, entry]}))
    from PIL import Image

    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(add("photo.png"))
    os.mkfifo(add("fifo"))
    add("folder").mkdir()
    out = {name: str(path) for name, path in paths.items()}
    out |= {"devnull": "/dev/null", "missing": str(folder / "no_such_file.npz")}
    return out


# --- case generator ------------------------------------------------------------------------------

# option -> (valid values, hostile values); a case draws a hostile value with probability P_HOSTILE
DESIGN_VALUES = {
    "--preset": (["0.35", "0.75", "0.55", "0.350"], ["0.5", "abc", ""]),
    "--pitch-um": (["0.5", "0.35", "0.45"], ["0.1", "nan", "inf", "-0.0", "1e400", "abc", ""]),
    "--f-number": (["2", "2.0", "4.5"], ["1", "20", "nan", "-inf"]),
    "--f-number-ref": (["1.4", "1"], ["0.5", "5", "nan"]),
    "--zernike": (["none", "Z4=0.05", "Z4=0.05,Z11=-0.1"],
                  ["", ",", "Z4=0.1,Z4=0.2", "Z40=0.1", "Z4=3", "Z4=nan", "garbage", "Z4:0.1", "Z4=1e400",
                   "Z" + "9" * 50 + "=0.1"]),
    "--oversample": (["2", "3"], ["1", "0", "17", "-1", "2.5", "9" * 30]),
    "--ocl-tilt": (["0.0", "-0.0", "0.02"], ["0.9", "nan"]),
    "--ocl-coma": (["0", "0.03"], ["-0.6", "inf"]),
    "--cfa": (["hex", "quad", "bayer"], ["xtrans", ""]),
    "--snr-db": (["35", "20"], ["80", "-1", "nan", "inf"]),
    "--flux": (["hold", "physical"], ["fixed"]),
    "--fill-factor": (["1", "0.5"], ["0.01", "2", "nan"]),
    "--burst": (["1", "2"], ["0", "17", "abc"]),
}
P_HOSTILE = 0.25
SEEDS = (["0", "1", "4294967295"], ["-1", "4294967296", "abc", "1e3"])
PIPELINES = (["demosaic", "traditional", "neural"], ["deconv", "bogus", ""])
OUTPUT_NAMES = (["out.{ext}", "deeper/new/out.{ext}"],
                ["", "-", "sub", "sub/", "afile/out.{ext}", "a" * 300 + ".{ext}", "/proc/smallpix-fuzz.{ext}", "out",
                 "out.gif", "keep.npz", "keep.png", "out.{ext}/"])
SCENES = (["dead_leaves", "grating_h", "slanted_edge", "siemens_star", "text", "colour_checker", "photo_fig"],
          ["bogus", "", "dead_leaves?bogus=1"])
RAW_INPUTS = ["good.npz", "burst.npz"]
HOSTILE_INPUTS = ["fifo", "folder", "devnull", "missing", "empty.npz", "text.npz", "truncated.npz"]


@dataclass
class Case:
    """One argv (fixture paths filled in); outputs and relative paths land in the case's own folder."""

    argv: list[str]
    kind: str = ""


def _pick(rng: random.Random, values: tuple[list[str], list[str]]) -> str:
    """A valid value, or with probability P_HOSTILE a hostile one."""
    valid, hostile = values
    return rng.choice(hostile if rng.random() < P_HOSTILE else valid)


def _design_options(rng: random.Random, p: float = 0.1, skip: tuple[str, ...] = ()) -> list[str]:
    argv: list[str] = []
    for option, values in DESIGN_VALUES.items():
        if option not in skip and rng.random() < p:
            argv += [option, _pick(rng, values)]
    if rng.random() < p:
        argv.append("--no-ocl")
    return argv


def _output(rng: random.Random, ext: str) -> list[str]:
    return ["--out", _pick(rng, OUTPUT_NAMES).format(ext=ext)]


def _case_presets(rng, fixtures):
    return ["presets"] + (["--json"] if rng.random() < 0.5 else [])


def _case_psf(rng, fixtures):
    argv = ["psf"] + _design_options(rng)
    argv += ["--size", _pick(rng, (["16", "32"], ["7", "0", "4096", "abc", ""]))]  # valid ones kept cheap
    if rng.random() < 0.3:
        argv += ["--pupil-samples", _pick(rng, (["64", "128"], ["16", "5000", "abc"]))]
    if rng.random() < 0.3:
        argv += ["--mono-nm", _pick(rng, (["550", "450"], ["100", "nan", "2000"]))]
    if rng.random() < 0.7:
        argv += _output(rng, "npz")
    return argv + (["--json"] if rng.random() < 0.3 else [])


def _case_raw(rng, fixtures):
    argv = ["raw"] + _design_options(rng)
    argv += ["--size", _pick(rng, (["16", "24", "32"], ["8", "20", "2048", "4096", "abc", "-16"]))]
    files = [fixtures[k] for k in ("not_image.png", "fifo", "folder", "devnull", "missing")]
    valid, hostile = SCENES
    argv += ["--scene", _pick(rng, (valid + [fixtures["photo.png"]], hostile + files))]
    if rng.random() < 0.3:
        argv += ["--seed", _pick(rng, SEEDS)]
    if rng.random() < 0.1:
        argv += ["--source-pixel-um", rng.choice(["0.35", "0.05", "nan", "5"])]
    return argv + _output(rng, rng.choice(["npz", "npz", "dng"]))


def _case_isp(rng, fixtures):
    hostile_raws = [k for k in fixtures if k.endswith(".npz") and k not in RAW_INPUTS] + HOSTILE_INPUTS
    argv = ["isp", "--raw", fixtures[_pick(rng, (RAW_INPUTS, hostile_raws))]]
    if rng.random() < 0.8:
        argv += ["--pipeline", _pick(rng, PIPELINES)]
    if rng.random() < 0.1:
        argv += ["--neural", rng.choice(["design", "universal", "bogus"])]
    return argv + _output(rng, rng.choice(["png", "png", "jpg", "tif", "bmp"]))


def _case_mtf(rng, fixtures):
    argv = ["mtf"] + _design_options(rng, p=0.05, skip=("--burst",))
    argv += ["--size", _pick(rng, (["32"], ["16", "33", "100000", "abc"]))]
    argv += ["--count", _pick(rng, (["2"], ["1", "1000000000", "abc"]))]
    if rng.random() < 0.8:
        argv += ["--pipeline", _pick(rng, PIPELINES)]
    if rng.random() < 0.2:
        argv += ["--seed", _pick(rng, SEEDS)]
    return argv + (["--json"] if rng.random() < 0.5 else [])


def _case_study(rng, fixtures):
    """Only failing studies (a valid one runs for minutes): each carries a fault found before any work."""
    faults = [["--table", "7"], ["--table", "4", "--source-pixel-um", "0.5"], ["--table", "abc"], ["--table", "3", "--source-pixel-um", "nan"],
              ["--table", "2", "--out", fixtures["text.npz"]], ["--table", "3", "--source-pixel-um", "0.01"],
              ["--table", "2", "--out", ""], ["--table", "5", "--bogus"], [], ["--table", "2", "--max-images", "3"],
              ["--table", "6", "--images", fixtures["folder"]], ["--designs", fixtures["grid_bad.json"]],
              *[["--designs", fixtures[f"designs_{kind}.json"]] for kind in ("coarse", "typo", "field")]]
    return ["study"] + rng.choice(faults)


def _case_train(rng, fixtures):
    """Only failing training runs (a valid one trains): each carries a fault found before any work."""
    faults = [["--steps", "0"], ["--steps", "1000000000000"], ["--steps", "1e30"], ["--crop", "20"],
              ["--batch", "-1"], ["--lr", "0"], ["--lr", "nan"], ["--device", "tpu"], ["--init", fixtures["fifo"]],
              ["--init", fixtures["garbage.ckpt"]], ["--init", fixtures["folder"]], ["--init", fixtures["missing"]],
              ["--seed", "-5"], ["--zernike", ""], ["--photo-magnification", "1", "0.5"], ["--photo-magnification", "nan", "1"],
              ["--workers", "2"], ["--workers", "-1"], ["--universal", "--device", "tpu"],
              ["--universal", "--workers", "9", "--pool-designs", "3"], ["--init", "universal", "--batch", "8"]]
    out = rng.choice([["--out", "w.pt"], ["--out", "w.txt"], ["--out", ""], ["--out", "afile/w.pt"]])
    fault = rng.choice(faults) if out == ["--out", "w.pt"] else []
    return ["train"] + _design_options(rng, p=0.05) + out + fault


def _case_bench(rng, fixtures):
    return ["bench", "--only", rng.choice(["gpu", "", "psf,,x", "bogus,raw"])]


def _case_sweep(rng, fixtures):
    return ["sweep", "--grid", fixtures[rng.choice(["fifo", "folder", "missing", "grid_bad.json", "empty.npz"])]]


def _case_top(rng, fixtures):
    return rng.choice([[], ["bogus"], ["--bogus"], ["psf", "--size"], ["raw"], ["isp", "--raw"]])


COMMANDS = {"presets": (_case_presets, 1), "psf": (_case_psf, 4), "raw": (_case_raw, 5), "isp": (_case_isp, 6),
            "mtf": (_case_mtf, 1), "study": (_case_study, 1), "train": (_case_train, 1), "bench": (_case_bench, 1),
            "sweep": (_case_sweep, 1), "top": (_case_top, 1)}
JUNK = ["--bogus", "x", "--out", "--json", "-"]


def generate_cases(n: int, seed: int, fixtures: dict[str, str]) -> list[Case]:
    """``n`` cases, reproducible from ``seed``, spread over every subcommand by the COMMANDS weights."""
    rng = random.Random(seed)
    names = list(COMMANDS)
    weights = [COMMANDS[name][1] for name in names]
    cases = []
    for _ in range(n):
        kind = rng.choices(names, weights)[0]
        argv = COMMANDS[kind][0](rng, fixtures)
        if kind not in ("study", "train") and rng.random() < 0.04:
            argv.insert(rng.randint(1, len(argv)) if argv else 0, rng.choice(JUNK))
        cases.append(Case(argv, kind))
    return cases


# --- running and checking ------------------------------------------------------------------------


@dataclass
class Result:
    """What a case did: exit status (None: hung or crashed), stdout, stderr, seconds, problems found."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float
    problems: list[str] = field(default_factory=list)


class CaseTimeout(Exception):
    """Raised in the case by SIGALRM when it runs past its time limit."""


def prepare_case_folder(folder: Path, fixtures: dict[str, str]) -> None:
    """A fresh folder for one case: an existing file 'afile', a folder 'sub', files to be kept."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "sub").mkdir(parents=True)
    (folder / "afile").write_text("a file, not a folder\n")
    shutil.copy(fixtures["good.npz"], folder / "keep.npz")
    shutil.copy(fixtures["photo.png"], folder / "keep.png")


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_in_process(argv: list[str], folder: Path, timeout_s: float) -> Result:
    """``engine.cli.main(argv)`` in ``folder`` with stdout / stderr captured and a SIGALRM time limit.

    Warnings are written to the captured stderr as a real process would print them (a test runner
    would otherwise collect them out of sight)."""
    from engine.cli import main

    def expire(signum, frame):
        raise CaseTimeout(f"past {timeout_s:g} s")

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, expire)
    cwd = os.getcwd()
    start = time.perf_counter()
    try:
        os.chdir(folder)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            try:
                code = main(argv)
            except SystemExit as exit_:  # --help
                code = exit_.code if isinstance(exit_.code, int) else 2
            except CaseTimeout:
                code = None
            except BaseException:  # noqa: BLE001 - a traceback is what the fuzzer looks for
                err.write(traceback.format_exc())
                code = 1
            err.write("".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in seen))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    return Result(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def run_subprocess(argv: list[str], folder: Path, timeout_s: float) -> Result:
    """``python -m engine argv`` in ``folder``, killed past ``timeout_s``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "engine", *argv], cwd=folder, capture_output=True, text=True,
                              timeout=timeout_s, env=env, errors="replace")
    except subprocess.TimeoutExpired as expired:
        return Result(None, "", str(expired.stderr or ""), time.perf_counter() - start)
    return Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - start)


def check(result: Result, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The contract violations of one case (empty when it passed)."""
    problems = []
    if result.code is None:
        problems.append("hang")
    elif result.code not in (0, 2):
        problems.append(f"exit {result.code}")
    if "Traceback" in result.stderr:
        problems.append("traceback")
    if result.code == 2 and result.stderr.count("\n") != 1 or result.code == 2 and not result.stderr.strip():
        problems.append(f"{result.stderr.count(chr(10))} lines on stderr")
    leftovers = [name for name in after if Path(name).name.startswith(TEMP_PREFIX)]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    if result.code not in (0, None) and after != before:
        changed = sorted(set(after.items()) ^ set(before.items()))
        problems.append(f"failure changed files: {sorted({name for name, _ in changed})}")
    return problems


def run_case(case: Case, folder: Path, fixtures: dict[str, str], timeout_s: float, *, subprocess_: bool = False) -> Result:
    """Run one case in a fresh ``folder`` and check it against the contract."""
    prepare_case_folder(folder, fixtures)
    before = snapshot(folder)
    result = (run_subprocess if subprocess_ else run_in_process)(case.argv, folder, timeout_s)
    result.problems = check(result, before, snapshot(folder))
    return result


# --- the benchmark: worker processes, each case with a time limit ---------------------------------


def _worker(conn, fixtures: dict[str, str], folder: str, timeout_s: float) -> None:
    """Run the cases sent on ``conn`` in-process, one at a time, and send back their results."""
    while True:
        message = conn.recv()
        if message is None:
            return
        index, argv = message
        result = run_case(Case(argv), Path(folder) / f"case_{index}", fixtures, timeout_s)
        conn.send((index, dataclasses.asdict(result)))  # plain data: the parent cannot unpickle __mp_main__ classes


class _Slot:
    """One worker process and the case it is running; a case past its time limit kills the worker."""

    def __init__(self, context, fixtures, folder, timeout_s):
        self.args = (context, fixtures, folder, timeout_s)
        self.start_process()

    def start_process(self):
        context, fixtures, folder, timeout_s = self.args
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, fixtures, folder, timeout_s), daemon=True)
        self.process.start()
        self.case, self.started = None, 0.0

    def submit(self, index: int, argv: list[str]) -> None:
        self.case, self.started = index, time.perf_counter()
        self.conn.send((index, argv))

    def poll(self, hard_limit_s: float):
        """(index, Result) when the running case ended, hung or crashed, else None."""
        if self.conn.poll(0.05):
            try:
                index, result = self.conn.recv()
            except EOFError:
                return self._lost("worker died")
            self.case = None
            return index, Result(**result)
        if not self.process.is_alive():
            return self._lost(f"worker died (exit {self.process.exitcode})")
        if time.perf_counter() - self.started > hard_limit_s:
            return self._lost("hang")
        return None

    def _lost(self, reason: str):
        index = self.case
        self.process.kill()
        self.process.join()
        self.start_process()
        return index, Result(None, "", reason, 0.0, ["hang" if reason == "hang" else reason])


def run_benchmark(cases: list[Case], fixtures, folder: Path, workers: int, timeout_s: float) -> list[Result]:
    context = multiprocessing.get_context("spawn")
    slots = [_Slot(context, fixtures, str(folder), timeout_s) for _ in range(workers)]
    results: list[Result | None] = [None] * len(cases)
    pending = list(enumerate(cases))[::-1]
    done = 0
    while done < len(cases):
        for slot in slots:
            if slot.case is None and pending:
                index, case = pending.pop()
                slot.submit(index, case.argv)
            elif slot.case is not None:
                ended = slot.poll(timeout_s + 30)  # SIGALRM stops a case at timeout_s; the kill is the backstop
                if ended is not None:
                    results[ended[0]] = ended[1]
                    done += 1
                    if done % 100 == 0:
                        print(f"  {done}/{len(cases)} cases", file=sys.stderr, flush=True)
    for slot in slots:
        slot.conn.send(None)
        slot.process.join(timeout=10)
    return results


def summarise(cases: list[Case], results: list[Result]) -> dict:
    codes = Counter("hang" if r.code is None else r.code for r in results)
    failing = [(c, r) for c, r in zip(cases, results) if r.problems]
    return {
        "cases": len(cases),
        "by_command": dict(Counter(c.kind for c in cases)),
        "exit_codes": {str(k): v for k, v in sorted(codes.items(), key=str)},
        "tracebacks": sum("traceback" in r.problems for r in results),
        "hangs": sum(r.code is None for r in results),
        "contract_violations": len(failing),
        "slowest_s": round(max((r.seconds for r in results), default=0.0), 2),
        "failing": [{"argv": c.argv, "problems": r.problems, "stderr_tail": r.stderr[-400:]} for c, r in failing],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the case generator (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    parser.add_argument("--subprocess-cases", type=int, default=20,
                        help="of the cases, this many also run as real `python -m engine` processes (default 20)")
    parser.add_argument("--folder", default=None, help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    import tempfile

    folder = Path(args.folder or tempfile.mkdtemp(prefix="smallpix-fuzz-"))
    fixtures = make_fixtures(folder / "fixtures")
    cases = generate_cases(args.cases, args.seed, fixtures)
    start = time.perf_counter()
    results = run_benchmark(cases, fixtures, folder / "cases", args.workers, args.timeout)
    for k, case in enumerate(cases[:args.subprocess_cases]):
        result = run_case(case, folder / "cases" / f"subprocess_{k}", fixtures, args.timeout, subprocess_=True)
        cases.append(Case(case.argv, case.kind + " (subprocess)"))
        results.append(result)
    report = summarise(cases, results)
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))
    if args.folder is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if not report["contract_violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
