"""The universal (PSF-conditioned) Neural ISP: selection rule, conditioning, warm start, data."""

import json

import numpy as np
import pytest
import torch

from engine.design import preset
from engine.isp import PipelineUnavailable
from engine.isp.neural import infer, registry, training_charts, universal, universal_data
from engine.isp.neural import model as M
from engine.simulate import capture_scene

TINY = M.ModelConfig(channels=8, dilations=((1, 1), (2, 2)))
TINY_UNIVERSAL = M.ModelConfig(channels=8, dilations=((1, 1), (2, 2)), cond_features=universal.COND_FEATURES)
OFF_PRESET = preset("0.35").replace(pitch_um=0.41, f_number=2.3, cfa="quad")


def _randomise(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.03)
    return net


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A folder with a per-design net for preset 0.45 and a universal net (tiny, random)."""
    d = tmp_path_factory.mktemp("weights")
    registry.export_weights(_randomise(M.build_model(TINY), 1), preset("0.45"), d / "neural_0p45.pt",
                            steps={"total": 0}, training={"note": "test"}, validation={})
    registry.export_universal(_randomise(M.build_model(TINY_UNIVERSAL), 2), d / "neural_universal.pt",
                              steps={"total": 0}, training={"note": "test"}, validation={},
                              training_range=universal.TRAINING_RANGE)
    return d


def test_selection_rule(weights_dir):
    assert registry.select(preset("0.45"), "auto", weights_dir)["kind"] == "design"
    assert registry.select(preset("0.45"), "universal", weights_dir)["kind"] == "universal"
    assert registry.select(OFF_PRESET, "auto", weights_dir)["kind"] == "universal"
    with pytest.raises(PipelineUnavailable, match="no trained weights"):
        registry.select(OFF_PRESET, "design", weights_dir)
    with pytest.raises(ValueError, match="neural must be one of"):
        registry.select(OFF_PRESET, "best", weights_dir)
    label = registry.select(OFF_PRESET, "auto", weights_dir)["label"]
    assert "universal net" in label and "0.3-1.3 um" in label


def test_no_universal_installed_says_so(tmp_path):
    with pytest.raises(PipelineUnavailable, match="no universal net"):
        registry.select(OFF_PRESET, "auto", tmp_path)


def test_outside_training_range_names_the_parameter(weights_dir):
    far = OFF_PRESET.replace(pitch_um=1.8, snr_db=55.0, zernike=((4, 1.5),))
    warning = registry.select(far, "auto", weights_dir)["warning"]
    assert "pitch_um 1.8 um" in warning and "snr_db 55 dB" in warning and "Z4" in warning
    assert registry.select(OFF_PRESET, "auto", weights_dir)["warning"] is None


def test_conditioned_crop_at_an_off_preset_design(weights_dir):
    capture = capture_scene(OFF_PRESET, "dead_leaves", 48, seed=0)
    net, selection = registry.load_selected(OFF_PRESET, "auto", weights_dir)
    assert selection["kind"] == "universal" and net.config.cond_features == universal.COND_FEATURES
    out = infer.process_capture(capture, net)
    assert out.shape == (48, 48, 3) and np.isfinite(out).all()


def test_warm_start_reproduces_the_source_net(tmp_path):
    source = _randomise(M.build_model(TINY), 4)
    entry = registry.export_weights(source, preset("0.45"), tmp_path / "src.pt", steps={}, training={}, validation={})
    net = M.build_model(TINY_UNIVERSAL)
    registry.warm_start(net, tmp_path / entry["file"])
    raw = torch.rand(1, 1, 32, 32) * 0.8
    sigma = torch.sqrt(raw) * 0.02
    cond = torch.rand(1, universal.COND_FEATURES, 32, 32)
    loaded = registry.load_model(preset("0.45"), tmp_path)
    with torch.no_grad():
        assert float((net.eval()(raw, sigma, cond) - loaded(raw, sigma)).abs().max()) < 1e-5


def test_a_wider_net_warm_started_from_a_narrower_one_starts_as_it_and_can_learn(tmp_path):
    source = _randomise(M.build_model(TINY), 5)
    entry = registry.export_weights(source, preset("0.45"), tmp_path / "src.pt", steps={}, training={}, validation={})
    wide = M.build_model(M.ModelConfig(channels=12, dilations=TINY.dilations))
    registry.warm_start(wide, tmp_path / entry["file"])
    raw = torch.rand(1, 1, 32, 32) * 0.8
    sigma = torch.sqrt(raw) * 0.02
    loaded = registry.load_model(preset("0.45"), tmp_path)
    with torch.no_grad():
        assert float((wide.eval()(raw, sigma) - loaded(raw, sigma)).abs().max()) < 1e-5
    wide.train()
    wide(raw, sigma).square().mean().backward()  # the extra channels reach the output's gradient
    assert float(wide.tail.conv3.weight.grad[:, 8:].abs().max()) > 0
    with pytest.raises(registry.WeightsError, match="does not fit"):
        registry.warm_start(M.build_model(M.ModelConfig(channels=4, dilations=TINY.dilations)), tmp_path / entry["file"])


def test_conditioning_planes():
    capture = capture_scene(OFF_PRESET, "slanted_edge", 32, seed=1)
    from engine.isp import deconv

    planes = universal.conditioning(capture.raw, capture.noise_sigma, capture.cfa, "quad", deconv.design_kernels(OFF_PRESET))
    assert planes.shape == (32, 32, universal.COND_FEATURES)
    assert np.allclose(planes[..., 3:], planes[0, 0, 3:])  # the MTF descriptor is constant
    assert 0 < planes[0, 0, -1] < planes[0, 0, 3] <= 1


def test_random_designs_are_valid_and_seeded():
    a = [universal.random_design(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    designs = [universal.random_design(np.random.default_rng(s)) for s in range(40)]
    assert {d.cfa for d in designs} == {"hex", "quad", "bayer"}
    assert all(universal.outside_training_range(d.replace(snr_db=30.0)) == [] for d in designs)


def test_training_grating_is_never_the_instrument():
    rng = np.random.default_rng(0)
    img = training_charts.random_grating(0.2, (64, 64), rng, 1000.0)
    assert img.shape == (64, 64, 3) and np.isfinite(img).all()
    # a coloured, oriented sinusoid: channels differ and both axes vary
    assert np.ptp(img[..., 0] / img[..., 1]) > 0.01
    assert np.ptp(img[:, 32, 1]) > 0 and np.ptp(img[32, :, 1]) > 0


def test_finetune_can_be_cancelled_and_resumed(tmp_path, monkeypatch):
    """A fine-tune job stops, checkpointed, when its cancel flag appears; run again, it resumes from
    the checkpoint and exports the design's net into the user folder, where the registry finds it."""
    from engine.isp.neural import finetune, universal_data, universal_train

    design = OFF_PRESET
    pretrained = tmp_path / "pretrained"
    registry.export_universal(_randomise(M.build_model(TINY_UNIVERSAL), 2), pretrained / "u.pt", steps={"total": 0},
                              training={}, validation={}, training_range=universal.TRAINING_RANGE)
    monkeypatch.setattr(registry, "PRETRAINED_DIR", pretrained)
    monkeypatch.setattr(universal_train, "UNIVERSAL_CONFIG", TINY_UNIVERSAL)
    user = tmp_path / "user"
    paths = finetune.job_paths(design, user)
    universal_data.build_pool(paths["pool"], designs=[design], size_px=112, seed=0)
    steps_seen = []

    def cancel_after_two(step, total, loss):
        steps_seen.append(step)
        if step == 2:
            finetune.request_cancel(design, user)

    first = finetune.run_job(design, steps=4, directory=user, progress=cancel_after_two)
    assert first["state"] == "cancelled" and first["steps"] == 2
    assert finetune.read_status(design, user)["state"] == "cancelled"
    paths["cancel"].unlink()
    second = finetune.run_job(design, steps=4, directory=user, progress=lambda s, t, l: steps_seen.append(s))
    assert second["state"] == "done" and steps_seen == [1, 2, 3, 4]
    selection = registry.select(design, "auto", pretrained, user_directory=user)
    assert selection["kind"] == "design" and selection["directory"] == user
    assert registry.snr_range_db(selection["entry"]) == finetune.snr_range_for(design)
    assert registry.select(design, "universal", pretrained, user_directory=user)["kind"] == "universal"


def test_a_fine_tune_trains_around_the_design_snr_within_the_universal_range():
    from engine.isp.neural import finetune

    assert finetune.snr_range_for(OFF_PRESET.replace(snr_db=35.0)) == (28.0, 42.0)
    assert finetune.snr_range_for(OFF_PRESET.replace(snr_db=40.0)) == (33.0, 45.0)
    assert finetune.snr_range_for(OFF_PRESET.replace(snr_db=12.0)) == (10.0, 19.0)


def test_a_universal_entry_pointing_outside_the_folder_is_refused(tmp_path):
    import json

    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "weights": [], "universal": {
        "file": "../../etc/passwd", "sha256": "0" * 64, "design_hash": "universal"}}))
    with pytest.raises(registry.WeightsError, match="universal"):
        registry.universal_entry(tmp_path)


@pytest.mark.parametrize("argv, steps, lr", [([], "finetune", "finetune"), (["--steps", "7", "--lr", "2e-4"], 7, 2e-4)])
def test_cli_fine_tune_defaults_to_the_apps_length_and_rate(monkeypatch, tmp_path, argv, steps, lr):
    """`train --init universal` without --steps / --lr runs the app's fine-tune (length and rate),
    not the 3,000 steps at 1e-3 of a from-scratch net; given, they are used."""
    from engine import cli
    from engine.isp.neural import finetune

    seen = []
    monkeypatch.setattr(finetune, "run_job", lambda design, steps, lr, progress: seen.append((steps, lr)) or
                        {"state": "done", "steps": steps, "seconds": 0.0})
    monkeypatch.setenv(finetune.USER_WEIGHTS_ENV, str(tmp_path))
    assert cli.main(["train", "--init", "universal", "--preset", "0.55", *argv]) == 0
    assert seen == [(finetune.DEFAULT_STEPS if steps == "finetune" else steps,
                     finetune.DEFAULT_LR if lr == "finetune" else lr)]


def test_cli_fine_tune_refuses_the_options_it_does_not_take(monkeypatch, tmp_path, capsys):
    """The fine-tune runs the app's recipe into the user folder: --out, --batch and the rest are
    refused by name instead of being ignored, before any training."""
    from engine import cli
    from engine.isp.neural import finetune

    monkeypatch.setattr(finetune, "run_job", lambda *a, **k: pytest.fail("trained despite refused options"))
    monkeypatch.setenv(finetune.USER_WEIGHTS_ENV, str(tmp_path))
    argv = ["train", "--init", "universal", "--preset", "0.55", "--out", str(tmp_path / "x.pt"), "--batch", "8"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"({tmp_path})" in err and err.rstrip().endswith("it takes the design, --steps and --lr, not --batch, --out")


def test_validation_at_the_presets_leaves_the_random_designs_draws_unchanged():
    """validate_universal(presets=True) adds the five Table 1 designs' own means and keeps the random
    designs' numbers (the protocol every earlier export recorded) exactly as they were."""
    from engine.isp.neural import universal_train

    net = registry.load_weights(registry.universal_entry(), registry.PRETRAINED_DIR)
    plain = universal_train.validate_universal(net, designs=1, size_px=32)
    wide = universal_train.validate_universal(net, designs=1, size_px=32, presets=True)
    assert {k: wide[k] for k in plain} == plain
    assert wide["presets"] == 5 and 0 < wide["preset_lpips_neural"] < wide["preset_lpips_bilinear"]


def test_pools_merge_with_each_design_keeping_its_captures(tmp_path):
    def write(path, designs, layout, size=16):
        n = 2 * designs
        meta = {"version": universal_data.POOL_VERSION, "designs": [{"id": f"{layout}{d}"} for d in range(designs)]}
        np.savez(path, raw=np.full((n, size, size), designs, np.float16), gt=np.zeros((n, size, size, 3), np.float16),
                 design_index=np.repeat(np.arange(designs, dtype=np.int32), 2),
                 kernels=np.arange(designs, dtype=np.float32)[:, None, None, None] * np.ones((1, 3, 4, 4), np.float32),
                 layouts=np.array([layout] * designs), meta_json=np.array(json.dumps(meta)))
        return path

    first, second = write(tmp_path / "a.npz", 2, "hex"), write(tmp_path / "b.npz", 3, "bayer")
    pool = universal_data.load_pool([first, second])
    assert pool["raw"].shape == (10, 16, 16) and len(pool["kernels"]) == 5
    assert pool["design_index"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert pool["layouts"][pool["design_index"]].tolist() == ["hex"] * 4 + ["bayer"] * 6
    assert [d["id"] for d in pool["meta"]["designs"]] == ["hex0", "hex1", "bayer0", "bayer1", "bayer2"]
    assert pool["meta"]["pools"] == ["a.npz", "b.npz"]
    assert universal_data.load_pool(first)["meta"]["pools"] == ["a.npz"]
    with pytest.raises(ValueError, match="one capture size"):
        universal_data.load_pool([first, write(tmp_path / "c.npz", 1, "quad", size=8)])


def test_universal_training_with_sampler_workers_stops_resumes_and_refuses_a_one_process_resume(tmp_path, monkeypatch):
    """Batches drawn by worker processes (the GPU recipe): a stop checkpoints the count drawn, a run
    with workers resumes from it, and a run without workers refuses that checkpoint, saying why."""
    from engine.isp.neural import universal_train
    from engine.isp.neural.train import TrainConfig

    monkeypatch.setattr(universal_train, "UNIVERSAL_CONFIG", TINY_UNIVERSAL)
    pool = universal_data.build_pool(tmp_path / "p.npz", designs=[OFF_PRESET], size_px=64, seed=0)
    cfg = TrainConfig(steps=4, batch=2, crop=48, warmup=1, seed=3, ckpt_every=2)
    stops = iter([False, True, False, False])
    first = universal_train.train_universal(pool, tmp_path / "u.ckpt", cfg, should_stop=lambda: next(stops),
                                            workers=2, log=lambda *_: None)
    assert first["steps"] == 2 and not first["completed"]
    second = universal_train.train_universal(pool, tmp_path / "u.ckpt", cfg, workers=2, log=lambda *_: None)
    assert second["completed"] and second["workers"] == 2 and second["device"] == "cpu"
    assert json.loads(torch.load(tmp_path / "u.ckpt", weights_only=True)["sampler"]) == {"workers": 2, "drawn": 4}
    longer = TrainConfig(**{**cfg.__dict__, "steps": 6})
    with pytest.raises(ValueError, match="trained with 2 sampler workers"):
        universal_train.train_universal(pool, tmp_path / "u.ckpt", longer, log=lambda *_: None)


def test_a_pool_built_in_parallel_parts_holds_every_design_once(tmp_path):
    path = universal_data.pool_path(3, 48, 5, tmp_path, parts=2)
    assert path.name.endswith("_parts2.npz") and path != universal_data.pool_path(3, 48, 5, tmp_path)
    universal_data.build_pool_parallel(path, designs=3, workers=2, size_px=48, seed=5)
    pool = universal_data.load_pool(path)
    assert pool["raw"].shape == (3 * len(universal_data.KINDS), 48, 48) and len(pool["kernels"]) == 3
    assert sorted(set(pool["design_index"].tolist())) == [0, 1, 2]
    assert [p["designs"] for p in pool["meta"]["parts"]] == [2, 1]
    assert sorted(x.name for x in tmp_path.iterdir()) == [path.name]  # the parts are gone
    with pytest.raises(ValueError, match="workers must be in"):
        universal_data.build_pool_parallel(tmp_path / "x.npz", designs=2, workers=3)
