"""Fine-tune on demand: a Neural ISP for one design, started from the universal net.

``run_job`` builds a small pool of instrument-free training captures of the design
(universal_data.build_pool with that design), fine-tunes the universal net on it
(universal_train.train_universal, checkpointed) and exports the result as that design's net, with a
manifest entry, into the *user* weights folder (``SMALLPIX_USER_WEIGHTS``, default
``~/.local/share/smallpix/weights``), never into the repository's ``pretrained/``. The registry
looks there too, so the design's Neural ISP switches to the new weights.

A job is a separate process (``python -m engine train --init universal [design options]``), so it
survives a page reload. It reports through a status file ``jobs/<design hash>.json`` in that folder
(state, step, total, loss, ETA) and stops, checkpointed, when ``jobs/<design hash>.cancel`` appears;
running it again resumes from the checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.design import DesignPoint
from engine.isp.neural.registry import USER_WEIGHTS_ENV, user_weights_dir  # noqa: F401 (API)

DEFAULT_STEPS = 400
"""About 2.5 minutes on 2 cores (pool of the design included; 200 steps took 79 s)."""
DEFAULT_LR = 5e-4
"""Peak learning rate (cosine to a tenth). Measured on preset 0.55 from the 9,500-step universal
net, 200 steps: 2e-4 closed 12 / 11 % (H / V) of the grating-MTF50 gap to the per-design net,
5e-4 14 / 14 %, 1e-3 13 / 12 % (docs/design.md, "Fine-tune on demand")."""
SNR_SPAN_DB = 7.0
"""A fine-tune trains at the design's SNR +- this (dB), within the universal net's 10-45 dB: the
per-design nets' 14 dB span (28-42 dB around the presets' 35 dB). It closed 16 / 21 % where the
universal net's whole range closed 14 / 14 % (same steps and learning rate); the fine-tuned net
warns when the SNR slider leaves that range, as the per-design nets do."""
STATES = ("running", "done", "cancelled", "failed")


def snr_range_for(design: DesignPoint, span_db: float = SNR_SPAN_DB) -> tuple[float, float]:
    """(low, high) per-frame SNR in dB a fine-tune for ``design`` trains at: its SNR +- ``span_db``,
    clipped to the universal net's training range."""
    from engine.isp.neural.universal_data import SNR_RANGE_DB

    return max(SNR_RANGE_DB[0], design.snr_db - span_db), min(SNR_RANGE_DB[1], design.snr_db + span_db)


def job_paths(design: DesignPoint, directory: Path | None = None) -> dict[str, Path]:
    """Status, cancel-flag, checkpoint, pool and weight paths of ``design``'s fine-tune job."""
    d = Path(directory or user_weights_dir())
    key = design.design_hash()
    return {"status": d / "jobs" / f"{key}.json", "cancel": d / "jobs" / f"{key}.cancel",
            "ckpt": d / "jobs" / f"{key}.ckpt", "pool": d / "jobs" / f"{key}_pool.npz",
            "weights": d / f"neural_ft_{key}.pt"}


def read_status(design: DesignPoint, directory: Path | None = None) -> dict | None:
    """The job's last status ({state, step, total, loss, eta_s, message, updated}) or None."""
    path = job_paths(design, directory)["status"]
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _write_status(path: Path, **status) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(status | {"updated": time.time()}))
    tmp.replace(path)


def request_cancel(design: DesignPoint, directory: Path | None = None) -> None:
    """Ask the running job to checkpoint and stop."""
    path = job_paths(design, directory)["cancel"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def start_job(design: DesignPoint, *, steps: int = DEFAULT_STEPS, directory: Path | None = None) -> subprocess.Popen:
    """Start ``run_job`` for ``design`` in a separate process (the CLI); returns the process."""
    directory = Path(directory or user_weights_dir())
    paths = job_paths(design, directory)
    paths["cancel"].unlink(missing_ok=True)
    _write_status(paths["status"], state="running", step=0, total=steps, loss=None, eta_s=None,
                  message="starting: building training captures of this design")
    env = dict(os.environ, **{USER_WEIGHTS_ENV: str(directory)})
    command = [sys.executable, "-m", "engine", "train", "--init", "universal", "--design-json",
               json.dumps(design.to_dict()), "--steps", str(steps)]
    root = Path(__file__).resolve().parents[3]
    with open(paths["status"].with_suffix(".log"), "a") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def run_job(design: DesignPoint, *, steps: int = DEFAULT_STEPS, directory: Path | None = None, progress=None,
            lr: float = DEFAULT_LR, snr_range_db: tuple[float, float] | None = None) -> dict:
    """Fine-tune the universal net for ``design`` (resuming a checkpoint) and export it into the user
    folder; ``lr``: peak learning rate (cosine to a tenth of it); ``snr_range_db``: the per-frame SNR
    range trained at (default :func:`snr_range_for`). Returns {state, entry (when done),
    steps, seconds}."""
    from engine.isp.neural import registry, universal_data, universal_train
    from engine.isp.neural.train import TrainConfig

    directory = Path(directory or user_weights_dir())
    paths = job_paths(design, directory)
    universal = registry.universal_entry(registry.PRETRAINED_DIR)
    if universal is None:
        raise FileNotFoundError("no universal net in pretrained/ to fine-tune from")
    t0 = time.time()
    if not paths["pool"].exists():
        universal_data.build_pool(paths["pool"], designs=[design], repeats=4, size_px=160, seed=1)
    cfg = TrainConfig(steps=steps, batch=6, crop=112, lr=lr, lr_final=lr / 10, warmup=10, seed=3, ckpt_every=25,
                      snr_range_db=tuple(snr_range_db or snr_range_for(design)))

    def report(step, total, loss):
        rate = (time.time() - t0) / max(step, 1)
        _write_status(paths["status"], state="running", step=step, total=total, loss=loss,
                      eta_s=round(rate * (total - step), 1), message="fine-tuning")
        if progress:
            progress(step, total, loss)

    summary = universal_train.train_universal(
        paths["pool"], paths["ckpt"], cfg, init=registry.PRETRAINED_DIR / universal["file"], resume=True,
        progress=report, should_stop=paths["cancel"].exists, log=lambda *_: None)
    if not summary["completed"]:
        _write_status(paths["status"], state="cancelled", step=summary["steps"], total=steps, loss=None, eta_s=None,
                      message="cancelled; start again to resume from the checkpoint")
        return {"state": "cancelled", "steps": summary["steps"], "seconds": round(time.time() - t0, 1)}
    entry = registry.export_weights(
        summary["net"].cpu(), design, paths["weights"], steps={"base": universal.get("steps", {}).get("total"),
                                                               "fine_tune": summary["steps"]},
        training={"data": "fine-tune pool of this design (engine.isp.neural.universal_data, instrument-free charts)",
                  "config": summary["meta"]["train_config"], "seconds": summary["seconds"],
                  "base_model": {"file": universal["file"], "sha256": universal["sha256"]}},
        validation={}, name=f"fine-tuned {design.design_hash()}")
    _write_status(paths["status"], state="done", step=summary["steps"], total=steps, loss=None, eta_s=0,
                  message=f"done: {paths['weights'].name}")
    return {"state": "done", "entry": entry, "steps": summary["steps"], "seconds": round(time.time() - t0, 1)}
