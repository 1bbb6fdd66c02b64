"""Time the Neural ISP on a 512 x 512 RAW (fp32, CPU, folded network), beside the traditional ISP on
the same capture in the same process, and print the network's GMAC per megapixel.

Workload: preset 0.35 (hex CFA), a 512 x 512 dead-leaves capture at 35 dB. Timed: the network
alone (``infer.run_model``: bilinear front-end + folded convs, whole image in one tile), the full
neural pipeline (``run_pipeline('neural')``: network + colour chain) and the traditional ISP
(``run_pipeline('traditional')``). Shipped weights are used when present, else a random init of
the same architecture (the time does not depend on the weights). Target: <= 0.3 s on 2 cores.

It also times the network with its residual blocks in bfloat16 (``precision="bf16"``, the app's fast
preview) and prints the ratio to fp32 and the RMS difference of the outputs.

``--burst K`` also times a K-frame burst at 15 dB through the multi-frame net (the aligner's shift
estimate + the network: ``run_pipeline('neural')``) beside the multi-frame traditional ISP (align +
average + the ISP), when the multi-frame net is installed.

Run: ``.venv/bin/python benchmarks/bench_neural.py [--pixels 512] [--repeats 5] [--threads N] [--burst 10]``
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import torch
from timing import best_time

from engine import memo
from engine.design import preset
from engine.isp import color, run_pipeline
from engine.isp.neural import infer, registry
from engine.isp.neural import model as M
from engine.simulate import capture_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--burst", type=int, default=1, help="also time a burst of this many frames (2-16)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    design = preset("0.35")
    capture = capture_scene(design, "dead_leaves", args.pixels, seed=0, colour=True)
    try:
        net, source = registry.load_model(design), "shipped weights"
    except Exception as err:  # noqa: BLE001 - the benchmark runs without weights too
        net, source = M.build_model(M.ModelConfig(), folded=True).to(memory_format=torch.channels_last).eval(), \
            f"random init ({type(err).__name__})"
    cfg = net.config
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"network: {M.param_count(net):,} params (folded), {M.macs_per_megapixel(cfg) / 1e9:.1f} GMAC/MP "
          f"({M.macs_per_megapixel(cfg) / 1e12:.3f} TMAC/MP), receptive field {M.receptive_field_px(cfg)} px; {source}")
    chain = color.color_chain()
    best_time(lambda: infer.run_model(net, capture.raw, capture.noise_sigma), 2)  # warm-up (oneDNN primitives)
    net_s, fp32 = best_time(lambda: infer.run_model(net, capture.raw, capture.noise_sigma), args.repeats)
    best_time(lambda: infer.run_model(net, capture.raw, capture.noise_sigma, precision="bf16"), 2)
    bf16_s, bf16 = best_time(lambda: infer.run_model(net, capture.raw, capture.noise_sigma, precision="bf16"),
                             args.repeats)
    pipe_s = trad_s = float("nan")
    if source == "shipped weights":
        pipe_s, _ = best_time(lambda: cold(run_pipeline, "neural", capture, chain), args.repeats)
    run_pipeline("traditional", capture, chain)
    trad_s, _ = best_time(lambda: cold(run_pipeline, "traditional", capture, chain), args.repeats)
    gmac = M.macs_per_megapixel(cfg) * args.pixels**2 / 1e15
    print(f"{'pixels':>7} {'network s':>10} {'neural ISP s':>13} {'traditional s':>14} {'GMAC':>6} {'GMAC/s':>7} {'target':>7}")
    print(f"{args.pixels:>7d} {net_s:>10.3f} {pipe_s:>13.3f} {trad_s:>14.3f} {gmac:>6.1f} "
          f"{gmac / net_s:>7.1f} {'<= 0.3':>7}")
    rms = float(np.sqrt(np.mean((bf16 - fp32) ** 2)))
    print(f"bf16 body (the app's fast preview; native bfloat16 on this CPU: {M.native_bf16()}): network "
          f"{bf16_s:.3f} s = {net_s / bf16_s:.2f}x the fp32 network; linear output RMS difference {rms:.1e}")
    if args.burst > 1:
        time_burst(design.replace(burst=args.burst, snr_db=15.0), args.pixels, args.repeats, chain, net_s)


def cold(fn, *args):
    """``fn(*args)`` with the engine's content memos emptied first, so a repeat recomputes everything."""
    memo.clear_all()
    return fn(*args)


def time_burst(design, pixels: int, repeats: int, chain, single_net_s: float) -> None:
    """The multi-frame neural and traditional pipelines on one burst, and their ratio to the single-frame net."""
    burst = capture_scene(design, "dead_leaves", pixels, seed=0, colour=True)
    selection = registry.select(design)
    if selection["kind"] != "burst":
        print(f"burst of {design.burst}: no multi-frame net installed ({selection['label']})")
        return
    run_pipeline("neural", burst, chain)
    neural_s, _ = best_time(lambda: cold(run_pipeline, "neural", burst, chain), repeats)
    trad_s, _ = best_time(lambda: cold(run_pipeline, "traditional", burst, chain), repeats)
    config = registry.load_selected(design)[0].config
    print(f"burst of {design.burst} at {pixels} px, 15 dB: MF neural ISP {neural_s:.3f} s "
          f"({neural_s / single_net_s:.1f}x the single-frame network; {M.macs_per_megapixel(config, design.burst) / 1e9:.0f} "
          f"GMAC/MP), MF traditional ISP {trad_s:.3f} s")


if __name__ == "__main__":
    main()
