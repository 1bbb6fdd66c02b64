"""Fuzzed command lines keep the CLI error contract (README "CLI error contract", issue #13): exit 0
or 2, no traceback, one line on stderr for a failure, no output or temporary file left by a failure
and an existing file left as it was. The cases come from benchmarks/fuzz_cli.py (seeded), which
runs 1,000 and more of them with a hang detector; here 250 run in-process and a handful as
real ``python -m engine`` processes. Valid cases are tiny, so the whole file takes well under a minute.
"""

import random
import struct
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fuzz_cli  # noqa: E402

from app.upload import UploadError, prepare_upload  # noqa: E402

CASES, SEED = 250, 13
TIMEOUT_S = 300.0  # a hang is forever; a loaded machine can take minutes to start a process


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return fuzz_cli.make_fixtures(tmp_path_factory.mktemp("fuzz") / "fixtures")


def test_fuzzed_calls_of_every_subcommand_keep_the_contract(fixtures, tmp_path):
    cases = fuzz_cli.generate_cases(CASES, SEED, fixtures)
    results = [fuzz_cli.run_case(case, tmp_path / f"case_{k}", fixtures, TIMEOUT_S) for k, case in enumerate(cases)]
    report = fuzz_cli.summarise(cases, results)
    assert set(report["by_command"]) == set(fuzz_cli.COMMANDS)
    assert report["exit_codes"].get("0", 0) > CASES // 5 and report["exit_codes"].get("2", 0) > CASES // 5
    assert report["failing"] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["isp", "--raw", "{fifo}", "--out", "o.png"],  # opening a FIFO would block forever
        ["train", "--init", "{fifo}", "--out", "w.pt"],
        ["isp", "--raw", "{raw_huge_header.npz}", "--out", "o.png"],  # declares 16384 x 16384
        ["psf", "--size", "16", "--out", "-"],
        ["isp", "--raw", "{good.npz}", "--pipeline", "demosaic", "--out", "keep.png"],
        ["--help"],
    ],
)
def test_real_processes_keep_the_contract(argv, fixtures, tmp_path):
    case = fuzz_cli.Case([fixtures[a[1:-1]] if a.startswith("{") else a for a in argv])  # "{name}": a fixture
    result = fuzz_cli.run_case(case, tmp_path, fixtures, TIMEOUT_S, subprocess_=True)
    assert result.problems == [], result.stderr


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (valid CRC) declaring ``width`` x ``height`` RGB, then nothing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def _mutations(data: bytes, count: int, seed: int):
    """``count`` copies of ``data`` with a few random bytes changed, a third of them also truncated."""
    rng = random.Random(seed)
    for _ in range(count):
        blob = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        yield bytes(blob[:rng.randint(0, len(blob))] if rng.random() < 0.3 else blob)


def test_upload_validation_answers_a_png_or_one_sentence(fixtures, tmp_path):
    """The app's upload path (app/upload.py, called directly) fed the fuzzer's files, mutated PNGs and
    headers declaring huge images: a prepared PNG, or one UploadError line."""
    names = ["good.npz", "text.npz", "empty.npz", "truncated.npz", "photo.png", "not_image.png", "raw_huge_header.npz"]
    blobs = [Path(fixtures[name]).read_bytes() for name in names]
    blobs += [_png_declaring(100_000, 100_000), _png_declaring(1, 1), _png_declaring(0, 0)]
    blobs += list(_mutations(Path(fixtures["photo.png"]).read_bytes(), 40, SEED))
    outcomes = []
    for k, data in enumerate(blobs):
        try:
            prepared = prepare_upload(f"upload_{k}.png", data, folder=tmp_path)
        except UploadError as err:
            assert str(err) and "\n" not in str(err)
            outcomes.append("refused")
        else:
            assert prepared.path.is_file() and min(prepared.width, prepared.height) >= 64
            outcomes.append("prepared")
    assert {"refused", "prepared"} <= set(outcomes)


def test_a_text_file_as_train_init_is_a_one_line_error(fixtures, tmp_path):
    """torch's weights-only unpickler raises IndexError (not an unpickling error) on a text file."""
    text = tmp_path / "notes.txt"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    case = fuzz_cli.Case(["train", "--preset", "0.35", "--init", str(text), "--out", "w.pt"])
    result = fuzz_cli.run_case(case, tmp_path / "run", fixtures, TIMEOUT_S)
    assert result.problems == [], result.stderr
    assert result.code == 2 and "is not a checkpoint (IndexError)" in result.stderr
