"""Neural ISP: shapes, RepVGG folding, receptive field and MACs, tiling seams, training smoke run,
weights manifest verification, the no-weights message, shipped weights."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from engine import sensor
from engine.design import preset, presets
from engine.isp import PipelineUnavailable, run_pipeline, traditional
from engine.isp.neural import data, infer, registry
from engine.isp.neural import model as M
from engine.isp.neural import train as T

TINY = M.ModelConfig(channels=8, dilations=((1, 1), (2, 2)))


def _randomise(net: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial weights in every branch (the constructor scales some down)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.03)


def _inputs(h: int, w: int, batch: int = 1, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    raw = torch.rand(batch, 1, h, w, generator=g) * 0.8
    return raw, torch.sqrt(raw) * 0.018


def test_model_shapes_and_input_checks():
    net = M.build_model(TINY)
    raw, sigma = _inputs(32, 48, batch=2)
    assert net(raw, sigma).shape == (2, 3, 32, 48)
    with pytest.raises(ValueError, match="multiple of 8"):
        net(raw[..., :30], sigma[..., :30])


def test_untrained_network_is_the_bilinear_demosaic_plus_small_residual_and_matches_numpy():
    raw, _ = _inputs(64, 64)
    cfa = sensor.cfa_pattern("hex", (64, 64))
    expected = traditional.bilinear_demosaic(raw[0, 0].numpy(), cfa, "hex")
    got = M.bilinear_demosaic_torch(raw, M.cfa_masks("hex", 64, 64), "hex")[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_folding_equals_unfolded():
    net = M.build_model(M.ModelConfig())
    _randomise(net)
    net.eval()
    raw, sigma = _inputs(64, 64)
    with torch.no_grad():
        before = net(raw, sigma)
        folded = M.build_model(M.ModelConfig())
        folded.load_state_dict(net.state_dict())
        folded.fold().eval()
        after = folded(raw, sigma)
    assert folded.folded and not any(hasattr(m, "conv1") for m in folded.modules() if isinstance(m, M.RepConv))
    assert M.param_count(folded) < M.param_count(net)
    assert float((before - after).abs().max()) < 1e-4 * max(1.0, float(before.abs().max()))


def test_receptive_field_is_stated_and_at_least_150_px():
    cfg = M.ModelConfig()
    stated = M.receptive_field_px(cfg)
    assert stated >= 150
    net = M.build_model(cfg)
    _randomise(net, 1)
    raw, sigma = _inputs(256, 256)
    raw.requires_grad_(True)
    net(raw, sigma)[0, :, 128, 128].sum().backward()
    rows, cols = np.nonzero(raw.grad[0, 0].abs().numpy() > 0)
    measured = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    assert 150 <= measured <= stated


def test_macs_per_megapixel_counted_and_within_budget():
    cfg = M.ModelConfig()
    net = M.build_model(cfg, folded=True)
    macs = []

    def hook(module, inputs, output):
        macs.append(output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1])

    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(hook)
    raw, sigma = _inputs(64, 64)
    with torch.no_grad():
        net(raw, sigma)
    counted = sum(macs) / (64 * 64) * 1e6
    assert counted == pytest.approx(M.macs_per_megapixel(cfg), rel=1e-6)
    assert counted <= 0.15e12


def test_tiled_inference_equals_whole_image():
    net = M.build_model(M.ModelConfig())
    _randomise(net, 2)
    net.fold().eval()
    g = np.random.default_rng(0)
    raw = g.uniform(0, 0.8, (200, 208)).astype(np.float32)
    sigma = (np.sqrt(raw) * 0.018).astype(np.float32)
    whole = infer.run_model(net, raw, sigma)
    tiled = infer.run_model(net, raw, sigma, tile=104, overlap=infer.DEFAULT_OVERLAP)
    assert whole.shape == tiled.shape == (200, 208, 3)
    assert infer.DEFAULT_OVERLAP >= M.receptive_field_px(net.config) / 2
    b = 8
    assert float(np.abs(whole - tiled)[b:-b, b:-b].max()) < 1e-4
    # a size that is not a multiple of 8 is padded by whole CFA periods and cropped back
    odd = infer.run_model(net, raw[:90, :101], sigma[:90, :101])
    assert odd.shape == (90, 101, 3)


def _gaussian_psf(size: int = 16, width: float = 3.0) -> np.ndarray:
    x = np.arange(size) - size // 2
    k = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * width**2))
    return np.broadcast_to((k / k.sum()).astype(np.float32), (4, 3, size, size)).copy()


def test_training_photos_sit_at_their_magnification_and_it_keys_the_cache():
    design = preset("0.35")
    wide = data.CacheSpec(photo_views=50, photo_magnification=(0.5, 2.0))
    assert data.cache_path(design, "c").name == f"cache_{design.design_hash()}_v{data.CACHE_VERSION}.npz"
    assert data.cache_path(design, "c", wide) != data.cache_path(design, "c")
    for spec in (data.CacheSpec(photo_views=50), wide):
        items = data._source_list(spec, np.random.default_rng(0), ["photo.jpg"], design.pitch_um)
        magnification = np.array([p["source_pixel_um"] for name, p in items if name == "photo.jpg"]) / design.pitch_um
        lo, hi = spec.photo_magnification
        assert len(magnification) == 50 and lo <= magnification.min() < 1.2 * lo and hi / 1.2 < magnification.max() <= hi


def test_training_smoke_run_lowers_the_loss(tmp_path):
    design = preset("0.35")
    spec = data.CacheSpec(size_px=64, photo_views=0, dead_leaves=3, text=1, gratings=2, edges=1, stars=0, val_views=0)
    data.build_cache(design, data.cache_path(design, tmp_path), spec, psf_pixel=_gaussian_psf())
    cfg = T.TrainConfig(steps=20, batch=4, crop=32, lr=3e-3, warmup=2, ckpt_every=10, seed=0)

    cache = data.load_cache(data.cache_path(design, tmp_path))
    fixed = data.CropSampler([cache], 32, 16, seed=123).sample()
    torch.manual_seed(cfg.seed)
    net = M.build_model(TINY)

    def eval_loss(n):
        with torch.no_grad():
            return float(T.loss_fn(n(fixed[0], fixed[1]), fixed[2], cfg.gamma_weight))

    before = eval_loss(net)
    out = tmp_path / "w.pt"
    summary = T.train([design], out, cfg, model_config=TINY, cache_dir=tmp_path, cache_spec=spec, export=False,
                      log=lambda *a: None)
    assert summary["steps"] == 20
    state = torch.load(out.with_suffix(".ckpt"), weights_only=True)
    assert state["step"] == 20 and len(state["history"]) == 20
    net.load_state_dict(state["model"])
    assert eval_loss(net) < before
    # resume from the checkpoint continues to a larger step count
    summary = T.train([design], out, T.TrainConfig(**{**cfg.__dict__, "steps": 22}), model_config=TINY,
                      cache_dir=tmp_path, cache_spec=spec, export=False, resume=True, log=lambda *a: None)
    assert summary["steps"] == 22
    # two fine-tunes in a row: the second records every earlier step of its lineage (22 + 3)
    first, second = tmp_path / "ft1.pt", tmp_path / "ft2.pt"
    short = T.TrainConfig(**{**cfg.__dict__, "steps": 3})
    T.train([design], first, short, model_config=TINY, cache_dir=tmp_path, cache_spec=spec, export=False,
            init=out.with_suffix(".ckpt"), log=lambda *a: None)
    T.train([design], second, short, model_config=TINY, cache_dir=tmp_path, cache_spec=spec, export=False,
            init=first.with_suffix(".ckpt"), log=lambda *a: None)
    base = torch.load(second.with_suffix(".ckpt"), weights_only=True)["meta"]["base"]
    assert base["steps"] == 3 and base["lineage_steps"] == 25


def _export_tiny(directory, design):
    net = M.build_model(TINY)
    _randomise(net, 3)
    return registry.export_weights(net, design, directory / f"neural_{design.design_hash()}.pt", steps={"total": 0},
                                   training={"note": "test"}, validation={}), net


def test_manifest_verification_rejects_a_tampered_file(tmp_path):
    design = preset("0.45")
    entry, net = _export_tiny(tmp_path, design)
    loaded = registry.load_model(design, tmp_path)
    raw, sigma = _inputs(32, 32)
    with torch.no_grad():
        ref = net.eval()(raw, sigma)
        assert float((loaded(raw, sigma) - ref).abs().max()) < 5e-3  # fp16 weights
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    shutil.copy(tmp_path / "manifest.json", tampered / "manifest.json")
    blob = bytearray((tmp_path / entry["file"]).read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (tampered / entry["file"]).write_bytes(bytes(blob))
    with pytest.raises(registry.WeightsError, match="sha256"):
        registry.load_model(design, tampered)


def test_design_without_weights_gives_a_clear_message(tmp_path):
    _export_tiny(tmp_path, preset("0.45"))
    other = preset("0.35").replace(pitch_um=0.4, f_number=1.9)  # no weights for this imaging
    with pytest.raises(PipelineUnavailable) as err:
        registry.load_model(other, tmp_path)
    text = str(err.value)
    assert other.design_hash() in text and "no trained weights" in text and "preset 0.45" in text
    # through the pipeline dispatcher, with the shipped weights folder
    shape = (16, 16)
    capture = sensor.RawCapture(
        raw=np.full(shape, 0.4, np.float32), noise_sigma=np.full(shape, 0.01, np.float32),
        cfa=sensor.cfa_pattern("hex", shape), phase=sensor.ocl_phase_map(shape),
        ground_truth=np.zeros(shape + (3,), np.float32), shifts_px=np.zeros((1, 2)), rotations_deg=np.zeros(1),
        snr_db=20.0, noise_model="gaussian", design=other)
    with pytest.raises(PipelineUnavailable, match=other.design_hash()):
        run_pipeline("neural", capture, neural="design")


def test_shipped_weights_match_the_presets():
    manifest = registry.read_manifest()
    if not manifest["weights"]:
        pytest.skip("no weights in pretrained/ yet")
    by_hash = {e["design_hash"]: e for e in manifest["weights"]}
    for name, design in presets().items():
        entry = by_hash.get(design.design_hash())
        if entry is None:
            pytest.fail(f"preset {name} ({design.design_hash()}) has no weights in pretrained/manifest.json")
        assert entry["design"] == design.to_dict()
        assert registry.sha256_of(registry.PRETRAINED_DIR / entry["file"]) == entry["sha256"]
        assert entry["bytes"] < 5e6
        net = registry.load_model(design)
        assert net.folded


def test_every_table5_design_has_weights():
    """Table 5 (fixed F/2.6, physical flux) fills its Neural ISP column only when all five do."""
    from engine.study import study_designs

    for name, design in study_designs(5).items():
        entry = registry.lookup(design)
        assert entry is not None, f"Table 5 design {name} at F/2.6 has no weights"
        assert entry["design"]["f_number"] == 2.6
        assert registry.sha256_of(registry.PRETRAINED_DIR / entry["file"]) == entry["sha256"]


def test_weights_serve_every_snr_of_their_design_and_flag_out_of_range_noise():
    from engine.design import preset
    from engine.isp.neural import registry

    design = preset("0.35")
    entry = registry.lookup(design)
    assert entry is not None and entry["design_hash"] == design.design_hash()
    assert registry.lookup(design.replace(snr_db=33.0, burst=4)) == entry
    assert registry.training_note(design.replace(snr_db=33.0), entry) is None
    assert "outside that range" in registry.training_note(design.replace(snr_db=15.0), entry)
    assert registry.lookup(design.replace(pitch_um=0.4, f_number=1.9)) is None
    assert registry.lookup(design.replace(cfa="bayer")) is None


def test_shipped_weights_beat_the_traditional_isp_on_a_photo_never_trained_on():
    from engine import perceptual
    from engine.isp import color
    from engine.simulate import capture_scene

    design = preset("0.35")
    capture = capture_scene(design, "photo_stream", 128, seed=123)  # validation split: not in training
    reference = color.camera_to_display(capture.ground_truth)
    scores = {p: perceptual.psnr(run_pipeline(p, capture), reference) for p in ("traditional", "neural")}
    assert scores["neural"] > scores["traditional"] + 2.0, scores


def test_bf16_arithmetic_stays_within_its_stated_tolerance_of_fp32():
    """The app's fast preview (bf16 residual blocks): shipped per-design and universal nets, a photo never
    trained on, display sRGB within 55 dB PSNR and 0.002 LPIPS of fp32 (docs/design.md, Inference
    arithmetic: 64-72 dB and <= 0.0005 measured); an unknown arithmetic is refused by name."""
    from engine import perceptual
    from engine.isp import color
    from engine.simulate import capture_scene

    capture = capture_scene(preset("0.35"), "photo_stream", 128, seed=123)
    reference = color.camera_to_display(capture.ground_truth)
    for choice in ("design", "universal"):
        fp32, bf16 = (run_pipeline("neural", capture, neural=choice, precision=p) for p in ("fp32", "bf16"))
        assert not np.array_equal(fp32, bf16)  # the bf16 path did run
        assert perceptual.psnr(bf16, fp32) > 55.0
        lpips = perceptual.lpips_alex(np.stack([fp32, bf16]), np.stack([reference, reference]))
        assert abs(lpips[0] - lpips[1]) <= 0.002, (choice, lpips)
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        run_pipeline("traditional", capture, precision="fp16")


def test_bf16_burst_net_keeps_a_float32_output_close_to_fp32():
    net = M.MultiFrameISP(TINY).eval()
    _randomise(net)
    raw, sigma = _inputs(32, 32, batch=2)
    shifts = torch.zeros(1, 2, 2)
    with torch.no_grad():
        fp32 = net(raw[None, :, 0], sigma[None, :, 0], shifts)
        bf16 = net(raw[None, :, 0], sigma[None, :, 0], shifts, precision="bf16")
    assert bf16.dtype == torch.float32 and torch.allclose(fp32, bf16, atol=0.02)
    assert not torch.equal(fp32, bf16)


def test_manifest_updates_from_two_processes_lose_nothing(tmp_path):
    """Training runs side by side export into one folder: each read-modify-write holds a file lock
    (without it, this interleaving loses entries)."""
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from engine.design import preset\n"
        "from engine.isp.neural import registry\n"
        "tag, folder = sys.argv[1], Path(sys.argv[2])\n"
        "design = preset('0.55').to_dict()  # a valid entry: the manifest is checked on every read\n"
        "(folder / f'ready_{tag}').touch()\n"
        "while not (folder / 'go').exists(): time.sleep(0.001)\n"
        "def add(m, i):\n"
        "    time.sleep(0.002)  # widen the read-modify-write window\n"
        "    m['weights'].append({'design_hash': f'{tag}{i}', 'file': f'{tag}{i}.pt', 'sha256': '0' * 64,\n"
        "                         'design': design})\n"
        "for i in range(25):\n"
        "    registry.update_manifest(lambda m, i=i: add(m, i), folder)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, tag, str(tmp_path)]) for tag in ("a", "b")]
    while not all((tmp_path / f"ready_{tag}").exists() for tag in "ab"):
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    hashes = {e["design_hash"] for e in registry.read_manifest(tmp_path)["weights"]}
    assert hashes == {f"{tag}{i}" for tag in "ab" for i in range(25)}


def test_shipped_weights_resolve_more_as_pixels_shrink():
    """Table 2 acceptance on the shipped weights (full grating run): neural MTF50 rises at every
    step from 0.75 to 0.35 um, H and V, and reaches at least 2.5x the traditional ISP at 0.35 um."""
    from engine import study

    settings = study.STUDY_SETTINGS["full"]
    rows, _ = study.table2(study.study_designs(2), ("traditional", "neural"), size_px=settings["size_px"],
                           count=settings["count"])
    for axis in ("h", "v"):
        neural = [row[f"{axis}_neural"] for row in rows]  # 0.75 um first
        assert all(b > a for a, b in zip(neural, neural[1:])), (axis, neural)
        assert rows[-1][f"{axis}_neural"] >= 2.5 * rows[-1][f"{axis}_traditional"], (axis, rows[-1])


def test_fine_tune_starts_from_shipped_folded_weights_with_their_lineage(tmp_path):
    """--init with a pretrained/*.pt file: the unfolded net computes what the folded one does, and the
    run records the manifest's step total as its lineage; the LPIPS term of the loss trains."""
    design = preset("0.35")
    weights_dir = tmp_path / "weights"
    entry, folded = _export_tiny(weights_dir, design)
    registry.update_manifest(lambda m: m["weights"][0].update(steps={"total": 123}), weights_dir)
    net = M.build_model(TINY)
    base = T._load_init(net, weights_dir / entry["file"])
    assert base["lineage_steps"] == 123 and base["file"] == entry["file"]
    raw, sigma = _inputs(32, 32)
    with torch.no_grad():
        assert float((net.eval()(raw, sigma) - folded.eval()(raw, sigma)).abs().max()) < 5e-3  # fp16 file
    spec = data.CacheSpec(size_px=64, photo_views=0, dead_leaves=2, text=0, gratings=2, edges=1, stars=0, val_views=0)
    data.build_cache(design, data.cache_path(design, tmp_path), spec, psf_pixel=_gaussian_psf())
    cfg = T.TrainConfig(steps=3, batch=2, crop=48, lr=1e-3, warmup=1, ckpt_every=10, perceptual_weight=0.1)
    summary = T.train([design], tmp_path / "ft.pt", cfg, model_config=TINY, cache_dir=tmp_path, cache_spec=spec,
                      export=False, init=weights_dir / entry["file"], log=lambda *a: None)
    assert summary["steps"] == 3 and np.isfinite(summary["final_loss"])
    meta = torch.load(tmp_path / "ft.ckpt", weights_only=True)["meta"]
    assert meta["base"]["lineage_steps"] == 123


def test_display_transform_in_torch_matches_the_colour_chain():
    from engine.isp import color

    rgb = np.random.default_rng(0).uniform(0, 0.9, (2, 8, 8, 3)).astype(np.float32)
    ours = T.display_torch(torch.from_numpy(rgb).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.abs(ours - color.camera_to_display(rgb)).max() < 1e-5
