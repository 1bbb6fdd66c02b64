"""Multi-frame Neural ISP: any burst length, single-frame equivalence of a warm start, the warp's
convention, the burst sampler, a training smoke run, export and the registry's selection rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.design import preset
from engine.isp import PipelineUnavailable
from engine.isp.neural import burst_data, burst_train, data, infer, registry
from engine.isp.neural import model as M
from engine.isp.neural import train as T
from test_neural import _gaussian_psf, _randomise  # the tests' shared synthetic PSF and weight randomiser

TINY = M.ModelConfig(channels=8, dilations=((1, 1), (2, 2)))
TINY_MF = M.ModelConfig(channels=8, dilations=((1, 1), (2, 2)), multiframe=True)


def _burst(frames: int, size: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    raw = torch.rand(1, frames, size, size, generator=g) * 0.8
    return raw, torch.sqrt(raw) * 0.05


@pytest.mark.parametrize("frames", [1, 2, 7, 16])
def test_the_multi_frame_net_takes_1_to_16_frames_and_returns_the_single_frame_shape(frames):
    mf, sf = M.build_model(TINY_MF), M.build_model(TINY)
    raw, sigma = _burst(frames)
    shifts = torch.rand(1, frames, 2) - 0.5
    shifts[:, 0] = 0
    assert mf(raw, sigma, shifts).shape == sf(raw[:, :1], sigma[:, :1]).shape == (1, 3, 32, 32)


def test_a_multi_frame_net_started_from_single_frame_weights_equals_that_net_on_one_frame(tmp_path):
    sf = M.build_model(TINY)
    _randomise(sf, 1)
    weights = tmp_path / "sf.pt"
    registry._save_folded(sf, weights, "x")
    folded = M.build_model(TINY, folded=True)
    folded.load_state_dict({k: v.float() for k, v in torch.load(weights, weights_only=True)["state_dict"].items()})
    mf = M.build_model(TINY_MF)
    registry.warm_start(mf.net, weights)
    raw, sigma = _burst(1)
    with torch.no_grad():
        single = folded(raw, sigma)
        multi = mf(raw, sigma, torch.zeros(1, 1, 2))
    torch.testing.assert_close(multi, single, atol=2e-3, rtol=0)  # fp16 weights, folded vs unfolded sums
    folded_mf = M.build_model(TINY_MF)
    folded_mf.load_state_dict(mf.state_dict())
    folded_mf.fold()
    with torch.no_grad():
        torch.testing.assert_close(folded_mf(raw, sigma, torch.zeros(1, 1, 2)), multi, atol=1e-5, rtol=0)


def test_warp_moves_content_by_the_shift_and_leaves_zero_shifts_untouched():
    x = torch.zeros(2, 1, 16, 16)
    x[:, 0, 8, 8] = 1.0
    out = M.warp(x, torch.tensor([[0.0, 0.0], [2.0, -3.0]]))
    assert torch.equal(out[0], x[0])
    assert out[1, 0, 10, 5] == pytest.approx(1.0) and out[1].sum() == pytest.approx(1.0)


def test_burst_lengths_drawn_for_training_cover_one_to_k():
    draws = [burst_data.frames_drawn(10, u) for u in np.linspace(0, 0.999, 1000)]
    assert set(draws) == set(range(1, 11))
    assert draws.count(1) == pytest.approx(1000 * burst_data.P_SINGLE, abs=2)
    assert draws.count(10) == pytest.approx(1000 * burst_data.P_FULL, abs=60)


@pytest.fixture(scope="module")
def burst_cache(tmp_path_factory):
    directory = tmp_path_factory.mktemp("burst")
    design = burst_train.burst_design(preset("0.35"), 4)
    spec = data.CacheSpec(size_px=64, photo_views=0, dead_leaves=3, text=1, gratings=1, edges=1, stars=0,
                          val_views=0, frames=4)
    path = data.build_cache(design, data.cache_path(design, directory, spec), spec, psf_pixel=_gaussian_psf())
    return directory, spec, data.load_cache(path)


def test_burst_cache_holds_frames_with_their_hand_shake_and_the_sampler_hands_aligner_shifts(burst_cache):
    _, _, cache = burst_cache
    assert cache["raw"].shape == (6, 4, 64, 64) and cache["shifts"].shape == (6, 4, 2)
    assert np.all(cache["shifts"][:, 0] == 0) and np.abs(cache["shifts"][:, 1:]).max() > 0.3
    sampler = burst_data.BurstSampler(cache, 32, 3, seed=1)
    for _ in range(5):
        raw, sigma, shift, gt = sampler.sample()
        k = raw.shape[1]
        assert raw.shape == sigma.shape == (3, k, 32, 32) and shift.shape == (3, k, 2) and gt.shape == (3, 3, 32, 32)
        assert torch.all(shift[:, 0] == 0)
    # the shifts handed to the net move each frame back onto frame 0: minus the hand-shake, give or take
    # the simulated aligner error
    sampler = burst_data.BurstSampler(cache, 32, 64, seed=2)
    while (batch := sampler.sample())[0].shape[1] < 2:
        pass
    idx_shift = batch[2][:, 1:]
    assert idx_shift.abs().max() < 1.0 + 5 * burst_data.SHIFT_ERROR_PX[1]


def test_burst_training_smoke_run_checkpoints_resumes_and_exports_a_selectable_net(burst_cache, tmp_path):
    directory, spec, _ = burst_cache
    design = preset("0.35")
    cfg = T.TrainConfig(steps=4, batch=2, crop=32, lr=1e-3, warmup=1, ckpt_every=2, snr_range_db=(12.0, 24.0))
    out = tmp_path / "weights" / "burst.pt"
    summary = burst_train.train_burst(design, out, cfg, frames=4, cache_dir=directory, cache_spec=spec, export=False,
                                      model_config=TINY, log=lambda *a: None)
    assert summary["steps"] == 4 and out.with_suffix(".ckpt").exists()
    longer = T.TrainConfig(**{**cfg.__dict__, "steps": 6})
    summary = burst_train.train_burst(design, out, longer, frames=4, cache_dir=directory, cache_spec=spec,
                                      model_config=TINY, resume=True, export=False, log=lambda *a: None)
    assert summary["steps"] == 6
    net = M.build_model(TINY_MF)
    net.load_state_dict(torch.load(out.with_suffix(".ckpt"), weights_only=True)["model"])
    entry = registry.export_burst(net, design, out, steps={"total": 6}, training={"config": longer.to_dict()},
                                  validation={}, frames_range=(1, 16), gmac_per_mp_at={})
    weights = out.parent
    user = tmp_path / "user"
    # a burst at 15 dB: the multi-frame net; the per-design choice has no single-frame net here
    low_light = design.replace(burst=10, snr_db=15.0)
    chosen = registry.select(low_light, "auto", weights, user)
    assert chosen["kind"] == "burst" and chosen["entry"]["sha256"] == entry["sha256"] and chosen["warning"] is None
    assert "multi-frame net" in chosen["label"] and "10 frames" in chosen["label"]
    with pytest.raises(PipelineUnavailable):
        registry.select(low_light, "design", weights, user)
    loaded = registry.load_weights(entry, weights)
    assert loaded.config.multiframe and loaded.folded
    raw = np.random.default_rng(0).uniform(0.1, 0.8, (10, 32, 32)).astype(np.float32)
    out_rgb = infer.run_burst(loaded, raw, np.full_like(raw, 0.05), layout=design.cfa)
    assert out_rgb.shape == (32, 32, 3) and np.isfinite(out_rgb).all()


def test_selection_prefers_single_frame_nets_in_their_range_and_the_burst_net_for_bursts_and_low_light(tmp_path):
    design = preset("0.35")
    sf = M.build_model(TINY)
    registry.export_weights(sf, design, tmp_path / "sf.pt", steps={"total": 0},
                            training={"config": {"snr_range_db": [28.0, 42.0]}}, validation={})
    mf = M.build_model(TINY_MF)
    registry.export_burst(mf, design, tmp_path / "mf.pt", steps={"total": 0},
                          training={"config": {"snr_range_db": [12.0, 24.0]}}, validation={}, frames_range=(1, 16),
                          gmac_per_mp_at={})
    user = tmp_path / "user"
    kind = lambda d, choice="auto": registry.select(d, choice, tmp_path, user)["kind"]  # noqa: E731
    assert kind(design) == "design"  # one frame at 35 dB: the per-design net's own range
    assert kind(design.replace(burst=10)) == "burst"
    assert kind(design.replace(snr_db=15.0)) == "burst"  # too noisy for the single-frame net
    assert kind(design.replace(snr_db=50.0)) == "design"  # outside both: stay with the single-frame net
    assert kind(design.replace(burst=10), "design") == "design"
    assert "frame 0" in registry.select(design.replace(burst=10), "design", tmp_path, user)["label"]
    assert kind(design, "burst") == "burst"
    with pytest.raises(PipelineUnavailable, match="multi-frame"):
        registry.select(preset("0.75"), "burst", tmp_path, user)


def test_the_shipped_multi_frame_net_fuses_a_low_light_burst_better_than_one_frame_or_the_traditional_burst():
    """Preset 0.35 at 15 dB per frame, a burst of 6 of a photo never trained on: the multi-frame net
    beats the same net on frame 0, the bright-light single-frame net and the aligned-average
    traditional ISP on PSNR."""
    from engine import perceptual
    from engine.isp import color, run_pipeline
    from engine.simulate import capture_scene

    design = preset("0.35").replace(snr_db=15.0, burst=6)
    entry = registry.lookup(design, kind=registry.BURSTS_KEY)
    assert entry is not None and entry["frames_range"] == [1, 10]
    assert "16 frames, more than the 10" in registry.select(design.replace(burst=16))["warning"]
    capture = capture_scene(design, "photo_stream", 128, seed=7)  # validation split: not in training
    reference = color.camera_to_display(capture.ground_truth)
    net = registry.load_weights(entry)
    scores = {
        "burst": perceptual.psnr(run_pipeline("neural", capture), reference),
        "frame 0": perceptual.psnr(color.camera_to_display(infer.run_burst(net, capture.raw[:1], capture.noise_sigma[:1])),
                                   reference),
        "bright-light net": perceptual.psnr(run_pipeline("neural", capture, neural="design"), reference),
        "traditional burst": perceptual.psnr(run_pipeline("traditional", capture), reference),
    }
    assert scores["burst"] > max(v for k, v in scores.items() if k != "burst") + 1.0, scores
