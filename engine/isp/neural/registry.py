"""Weights registry: pretrained/manifest.json lists one folded fp16 weight file per design.

Each manifest entry (list ``weights``: single-frame nets; list ``bursts``: multi-frame nets, with
``frames_range``): ``file`` (relative to the manifest), ``design_hash`` (DesignPoint.design_hash of
the design it was trained for), ``design`` (to_dict), ``name`` (preset name where it is one),
``steps``, ``training`` (data, recipe, wall time), ``validation`` (metrics on the validation photo
split), ``sha256`` of the file, ``architecture`` (ModelConfig), ``params``, ``gmac_per_mp``,
``receptive_field_px``. Loading checks the design hash and the sha256
and reads the file with ``torch.load(weights_only=True)``.

Weights serve every design with the same ``DesignPoint.imaging_hash`` (lens, OCL, CFA, pitch,
sampling): the SNR, flux mode and burst length may differ, since noise reaches the network as the
sigma map. :func:`training_note` says when the SNR is outside the range the weights were trained on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path

import torch

try:
    import fcntl
except ImportError:  # not POSIX: the in-process lock only
    fcntl = None

from engine.design import DesignPoint
from engine.isp.neural import model as M
from engine.isp.pipelines import NEURAL_CHOICES, PipelineUnavailable

PRETRAINED_DIR = Path(__file__).resolve().parents[3] / "pretrained"
USER_WEIGHTS_ENV = "SMALLPIX_USER_WEIGHTS"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
BURSTS_KEY = "bursts"
"""Manifest list of multi-frame nets (MultiFrameISP), one per imaging hash, entries as in ``weights``
plus ``frames_range`` (the burst lengths trained on; the net accepts any length)."""
_LOCK = threading.Lock()
_MODELS: dict = {}


def user_weights_dir() -> Path:
    """Folder of user-trained weights (fine-tunes on demand): $SMALLPIX_USER_WEIGHTS, else
    ~/.local/share/smallpix/weights."""
    env = os.environ.get(USER_WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "smallpix" / "weights"


class WeightsError(RuntimeError):
    """A weight file that fails verification (sha256 or design hash mismatch, unreadable)."""


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(directory: str | Path = PRETRAINED_DIR) -> dict:
    """``directory``'s manifest (an empty one when there is none). Raises WeightsError when it is not
    JSON, has no ``weights`` list, or an entry lacks a ``file`` name inside ``directory``, a
    ``sha256``, a ``design_hash`` or a valid ``design``."""
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return {"version": MANIFEST_VERSION, "weights": []}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON or UTF-8
        raise WeightsError(f"manifest {path} is not readable JSON ({type(err).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("weights"), list):
        raise WeightsError(f"manifest {path} must be a JSON object with a 'weights' list")
    if not isinstance(manifest.get(BURSTS_KEY, []), list):
        raise WeightsError(f"manifest {path}: '{BURSTS_KEY}' must be a list")
    for key in ("weights", BURSTS_KEY):
        for k, entry in enumerate(manifest.get(key, [])):
            _check_entry(entry, f"manifest {path}, {key}[{k}]")
    return manifest


def _check_entry(entry, where: str) -> None:
    if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("file", "sha256", "design_hash")):
        raise WeightsError(f"{where} needs 'file', 'sha256' and 'design_hash' strings")
    _check_file_name(entry["file"], where)
    try:
        DesignPoint.from_dict(entry["design"])
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as err:
        raise WeightsError(f"{where}: 'design' is not a valid design ({type(err).__name__}: {err})") from None


def _check_file_name(name: str, where: str) -> None:
    """A manifest names its weight files relative to its own folder; a path out of it is refused."""
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\\" in name:
        raise WeightsError(f"{where}: file {name!r} must be a plain file name in the weights folder")


@contextlib.contextmanager
def _manifest_lock(directory: Path):
    """Exclusive lock on ``directory``'s manifest across threads and processes (training runs side
    by side export into the same folder): fcntl lock on ``.manifest.lock`` where available."""
    directory.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(directory / ".manifest.lock", "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def update_manifest(change, directory: str | Path = PRETRAINED_DIR) -> dict:
    """Read the manifest, apply ``change(manifest)`` (in place) and write it back, under the lock."""
    with _manifest_lock(Path(directory)):
        manifest = read_manifest(directory)
        change(manifest)
        write_manifest(manifest, directory)
    return manifest


def write_manifest(manifest: dict, directory: str | Path = PRETRAINED_DIR) -> Path:
    path = Path(directory) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest["weights"] = sorted(manifest["weights"], key=lambda e: -e["design"]["pitch_um"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(path)
    return path


def lookup(design: DesignPoint, directory: str | Path = PRETRAINED_DIR, kind: str = "weights") -> dict | None:
    """The manifest entry trained for ``design``'s imaging (same ``imaging_hash``) in the manifest's
    ``kind`` list (``weights``: single-frame nets; ``bursts``: multi-frame nets), or None."""
    key = design.imaging_hash()
    for entry in read_manifest(directory).get(kind, []):
        if DesignPoint.from_dict(entry["design"]).imaging_hash() == key:
            return entry
    return None


def snr_range_db(entry: dict) -> tuple | None:
    """(low, high) SNR in dB the entry's weights were trained at, or None when not recorded."""
    recorded = entry.get("training", {}).get("config", {}).get("snr_range_db")
    return None if recorded is None else tuple(recorded)


def training_note(design: DesignPoint, entry: dict) -> str | None:
    """A caveat when ``design`` is noisier or cleaner than the weights were trained for, else None."""
    trained = snr_range_db(entry)
    if trained is None or trained[0] <= design.snr_db <= trained[1]:
        return None
    low, high = trained
    return (f"Neural ISP weights were trained at {low:g}-{high:g} dB; this design is at {design.snr_db:g} dB, "
            "outside that range, so expect degraded results")


def nearest_with_weights(design: DesignPoint, directory: str | Path = PRETRAINED_DIR) -> dict | None:
    """The manifest entry nearest to ``design`` (pitch, then F#), for an 'offer the nearest' message."""
    entries = [e for e in read_manifest(directory)["weights"] if (Path(directory) / e["file"]).exists()]
    if not entries:
        return None
    return min(entries, key=lambda e: (abs(e["design"]["pitch_um"] - design.pitch_um),
                                       abs(e["design"]["f_number"] - design.f_number)))


def missing_message(design: DesignPoint, directory: str | Path = PRETRAINED_DIR) -> str:
    near = nearest_with_weights(design, directory)
    text = (f"Neural ISP: no trained weights match design {design.design_hash()} "
            f"(pitch {design.pitch_um} um, F/{design.f_number}, {design.cfa} CFA)")
    if near is None:
        return text + f"; no weights are installed in {Path(directory)}"
    label = f"preset {near['name']}" if near.get("name") else "design"
    return (text + f"; nearest design with weights: {label} ({near['design']['pitch_um']} um, "
            f"F/{near['design']['f_number']}, hash {near['design_hash']}). Train this one with "
            f"`python -m engine train [design options] --out pretrained/...`")


def load_weights(entry: dict, directory: str | Path = PRETRAINED_DIR) -> M.NeuralISP:
    """Verify ``entry``'s file (a name in ``directory``, sha256) and load it into a folded fp32 model."""
    _check_file_name(entry["file"], "manifest entry")
    path = Path(directory) / entry["file"]
    if not path.exists():
        raise WeightsError(f"weight file {path} listed in the manifest is missing")
    digest = sha256_of(path)
    if digest != entry["sha256"]:
        raise WeightsError(f"weight file {path} fails its sha256 check (manifest {entry['sha256'][:12]}..., "
                           f"file {digest[:12]}...): refusing to load it")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("design_hash") != entry["design_hash"]:
        raise WeightsError(f"weight file {path} was trained for design {state.get('design_hash')}, "
                           f"the manifest says {entry['design_hash']}")
    net = M.build_model(state["config"], folded=True)
    net.load_state_dict({k: v.float() for k, v in state["state_dict"].items()})
    net = net.to(memory_format=torch.channels_last).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def load_model(design: DesignPoint, directory: str | Path = PRETRAINED_DIR) -> M.NeuralISP:
    """The folded Neural ISP for ``design`` (cached per process); raises
    engine.isp.PipelineUnavailable with :func:`missing_message` when no weights match."""
    entry = lookup(design, directory)
    if entry is None or not (Path(directory) / entry["file"]).exists():
        raise PipelineUnavailable(missing_message(design, directory))
    return _cached_load(entry, directory)


@torch.no_grad()
def warm_start(net: M.NeuralISP, weights: str | Path) -> dict:
    """Load folded weights (a ``pretrained/*.pt`` file) into the unfolded ``net``: each RepConv's 3x3
    kernel takes the folded kernel (less the identity it will add back), its 1x1 branch starts at
    zero. ``net`` may be larger: input channels the source lacks (conditioning planes, the extra
    features of a wider net) start with zero weight into the source's channels, and the extra
    channels keep their fresh initialisation, so ``net`` starts as the source net. Returns
    {file, design_hash}."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    folded = {k: v.float() for k, v in state["state_dict"].items()}
    own = net.state_dict()
    for key, value in folded.items():
        target = own[key]
        if target.ndim != value.ndim or any(t < v for t, v in zip(target.shape, value.shape)):
            raise WeightsError(f"{Path(weights).name}: {key} {tuple(value.shape)} does not fit this net's "
                               f"{tuple(target.shape)}")
        rows = slice(0, value.shape[0])
        if target.ndim > 1:
            target[rows, value.shape[1]:] = 0
        target[tuple(slice(0, n) for n in value.shape)] = value
    net.load_state_dict(own)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, M.RepConv) and not module.folded:
                module.conv1.weight.zero_()
                if module.identity:
                    module.conv3.weight[:, :, 1, 1] -= torch.eye(module.cout)
    return {"file": Path(weights).name, "design_hash": state.get("design_hash")}


def _save_folded(net: M.NeuralISP, out: Path, key: str) -> dict:
    """Fold a copy of ``net``, save it as fp16 to ``out`` under ``key`` (its design hash, or
    ``UNIVERSAL_KEY``); returns the manifest fields that describe the file and architecture."""
    folded = M.build_model(net.config)
    folded.load_state_dict({k: v.detach().clone() for k, v in net.state_dict().items()})
    folded.fold()
    state = {"design_hash": key, "config": net.config.to_dict(),
             "state_dict": {k: v.detach().to(torch.float16).contiguous() for k, v in folded.state_dict().items()}}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    return {"file": out.name, "design_hash": key, "sha256": sha256_of(out), "bytes": out.stat().st_size,
            "dtype": "float16", "architecture": net.config.to_dict(), "params": M.param_count(folded),
            "gmac_per_mp": round(M.macs_per_megapixel(net.config) / 1e9, 2),
            "receptive_field_px": M.receptive_field_px(net.config)}


def export_weights(net: M.NeuralISP, design: DesignPoint, out: str | Path, *, steps, training: dict,
                   validation: dict, name: str | None = None, kind: str = "weights", extra: dict | None = None) -> dict:
    """Fold a copy of ``net``, save it as fp16 to ``out`` and add / replace its entry (``extra``
    fields added) in the ``kind`` list of ``out``'s manifest. Returns the entry."""
    from engine.design import presets

    out = Path(out)
    if name is None:
        name = next((n for n, d in presets().items() if d.design_hash() == design.design_hash()), None)
    entry = {"name": name, "design": design.to_dict(), "steps": steps, "training": training,
             "validation": validation, **(extra or {})} | _save_folded(net, out, design.design_hash())

    def add_entry(manifest: dict) -> None:
        manifest["version"] = MANIFEST_VERSION
        manifest[kind] = [e for e in manifest.get(kind, []) if e["design_hash"] != entry["design_hash"]] + [entry]

    update_manifest(add_entry, out.parent)
    with _LOCK:
        _MODELS.clear()
    return entry


def export_burst(net: M.MultiFrameISP, design: DesignPoint, out: str | Path, *, steps, training: dict,
                 validation: dict, frames_range: tuple, gmac_per_mp_at: dict) -> dict:
    """:func:`export_weights` of a multi-frame ``net`` into the manifest's ``bursts`` list, named after
    the preset with its imaging, with the burst lengths trained on and the cost at those lengths."""
    from engine.design import presets

    name = next((n for n, d in presets().items() if d.imaging_hash() == design.imaging_hash()), None)
    return export_weights(net, design, out, steps=steps, training=training, validation=validation, name=name,
                          kind=BURSTS_KEY, extra={"frames_range": list(frames_range), "gmac_per_mp_at_frames": gmac_per_mp_at})


# --- the universal (PSF-conditioned) net -------------------------------------------------------------

UNIVERSAL_KEY = "universal"
"""``design_hash`` of the universal net's weight file and manifest entry (manifest key ``universal``)."""


def export_universal(net: M.NeuralISP, out: str | Path, *, steps, training: dict, validation: dict,
                     training_range: dict) -> dict:
    """Save the universal net (folded fp16) to ``out`` and set the manifest's ``universal`` entry."""
    out = Path(out)
    entry = {"name": UNIVERSAL_KEY, "steps": steps, "training": training, "validation": validation,
             "training_range": training_range} | _save_folded(net, out, UNIVERSAL_KEY)

    def set_entry(manifest: dict) -> None:
        manifest["version"] = MANIFEST_VERSION
        manifest[UNIVERSAL_KEY] = entry

    update_manifest(set_entry, out.parent)
    with _LOCK:
        _MODELS.clear()
    return entry


def universal_entry(directory: str | Path = PRETRAINED_DIR) -> dict | None:
    """The manifest's universal-net entry whose file is installed, or None."""
    entry = read_manifest(directory).get(UNIVERSAL_KEY)
    if entry is None:
        return None
    where = f"manifest {Path(directory) / MANIFEST_NAME}, {UNIVERSAL_KEY}"
    if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("file", "sha256", "design_hash")):
        raise WeightsError(f"{where} needs 'file', 'sha256' and 'design_hash' strings")
    _check_file_name(entry["file"], where)
    return entry if (Path(directory) / entry["file"]).exists() else None


def _cached_load(entry: dict, directory: str | Path) -> M.NeuralISP:
    key = (str(Path(directory).resolve()), entry["design_hash"], entry["sha256"])
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_weights(entry, directory)
        return _MODELS[key]


def _installed(design: DesignPoint, folders, kind: str) -> tuple[dict, Path] | tuple[None, None]:
    """The first (entry, folder) in ``folders`` whose ``kind`` list serves ``design`` and whose file exists."""
    for folder in folders:
        entry = lookup(design, folder, kind)
        if entry is not None and (folder / entry["file"]).exists():
            return entry, folder
    return None, None


def select(design: DesignPoint, choice: str = "auto", directory: str | Path = PRETRAINED_DIR,
           user_directory: str | Path | None = None) -> dict:
    """Which Neural ISP serves ``design`` under ``choice`` (engine.isp.NEURAL_CHOICES):
    ``{"kind": "burst" | "design" | "universal", "entry": manifest entry, "directory": its folder,
    "label": one line naming the net and its training range, "warning": None or what is outside
    that range}``. ``auto``: the design's multi-frame net for a burst, or for a single frame whose
    SNR is outside its per-design net's training range but inside the multi-frame net's; else the
    per-design net (single-frame: a burst runs on its frame 0); else the universal net. Per-design
    nets are looked up in ``directory`` then in the user folder (fine-tuned on demand,
    engine.isp.neural.finetune; default $SMALLPIX_USER_WEIGHTS). Raises
    engine.isp.PipelineUnavailable when the chosen kind has no installed weights for the design."""
    from engine.isp.neural import universal

    if choice not in NEURAL_CHOICES:
        raise ValueError(f"neural must be one of {', '.join(NEURAL_CHOICES)}, got {choice!r}")
    folders = (Path(directory), Path(user_directory or user_weights_dir()))
    burst, burst_folder = _installed(design, folders, BURSTS_KEY) if choice in ("auto", "burst") else (None, None)
    single, single_folder = _installed(design, folders, "weights") if choice in ("auto", "design") else (None, None)
    if burst is not None and (choice == "burst" or design.burst > 1 or single is None
                              or (training_note(design, single) and not training_note(design, burst))):
        trained = snr_range_db(burst)
        noise = f" at {trained[0]:g}-{trained[1]:g} dB per frame" if trained else ""
        frames = burst.get("frames_range", [1, 16])
        label = (f"multi-frame net {burst.get('name') or burst['design_hash']} (trained for this lens, pitch and CFA "
                 f"on bursts of {frames[0]}-{frames[1]} frames{noise}; this capture: {design.burst} "
                 f"frame{'s' if design.burst > 1 else ''})")
        notes = [n for n in (training_note(design, burst),
                             f"this burst has {design.burst} frames, more than the {frames[1]} the net was trained on"
                             if design.burst > frames[1] else None) if n]
        return {"kind": "burst", "entry": burst, "directory": burst_folder, "label": label,
                "warning": "; ".join(notes) or None}
    frame0 = f"; single-frame: runs on frame 0 of the {design.burst}-frame burst" if design.burst > 1 else ""
    if single is not None:
        low, high = snr_range_db(single) or (30.0, 40.0)
        label = (f"per-design net {single.get('name') or single['design_hash']} (trained for this lens, pitch and "
                 f"CFA at {low:g}-{high:g} dB)" + frame0)
        return {"kind": "design", "entry": single, "directory": single_folder, "label": label,
                "warning": training_note(design, single)}
    if choice == "design":
        raise PipelineUnavailable(missing_message(design, directory))
    if choice == "burst":
        raise PipelineUnavailable(f"Neural ISP: no multi-frame net is installed for design {design.design_hash()} "
                                  f"(pitch {design.pitch_um} um, F/{design.f_number}, {design.cfa} CFA); multi-frame "
                                  "nets exist for the designs listed under 'bursts' in pretrained/manifest.json")
    entry = universal_entry(directory)
    if entry is None:
        raise PipelineUnavailable(f"Neural ISP: no universal net is installed in {Path(directory)} "
                                  "(train one with `python -m engine train --universal`)")
    r = entry["training_range"]
    label = (f"universal net (trained on random designs: pitch {r['pitch_um'][0]:g}-{r['pitch_um'][1]:g} um, "
             f"F/{r['f_number'][0]:g}-{r['f_number'][1]:g}, {r['snr_db'][0]:g}-{r['snr_db'][1]:g} dB, "
             f"{'/'.join(r['cfa'])} CFA)" + frame0)
    outside = universal.outside_training_range(design)
    warning = ("outside the universal net's training range: " + "; ".join(outside) + ", so expect degraded results"
               if outside else None)
    return {"kind": "universal", "entry": entry, "directory": Path(directory), "label": label, "warning": warning}


def load_selected(design: DesignPoint, choice: str = "auto", directory: str | Path = PRETRAINED_DIR):
    """(net, selection) for ``design``: :func:`select`, then its weights loaded (cached per process)."""
    selection = select(design, choice, directory)
    return _cached_load(selection["entry"], selection["directory"]), selection
