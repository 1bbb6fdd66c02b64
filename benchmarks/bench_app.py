"""Slider-to-render time of the Streamlit explorer, measured with streamlit.testing AppTest.

For each control (SNR, F#, a Zernike term, pixel pitch) the bench moves the slider to a value not
seen before (so every change is a real cache miss for the stages that depend on it) and times the
whole script rerun: the engine stages that change, the cached ones, the figures, PNG encoding and
the element protos. It runs in-process, so browser transfer and drawing are not included.

    .venv/bin/python benchmarks/bench_app.py                 # Images view, 256 px crop, 12 changes per control
    .venv/bin/python benchmarks/bench_app.py --size 512 --repeats 8 --tab Lens
    .venv/bin/python benchmarks/bench_app.py --size 512 --controls pitch snr   # keys: snr fnum z11 pitch

Prints every change's time, then p50 / p95 per control, the p95 of when the Images view's crops were
on the page (the figure is drawn before the panels' metrics are computed, and a server streams it
to the browser as soon as it is drawn), and the stages each change recomputed.
Timings depend on the machine and its load: run it on an idle machine, and note the core count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as app/main.py does, before numpy / torch load
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "app" / "main.py")
CONTROLS = {
    # label: (widget key, first value, step): each change moves one step further (a new value)
    "SNR (dB)": ("snr", 34.5, -0.5),
    "F#": ("fnum", 1.70, 0.02),
    "Zernike Z11 (waves)": ("z11", 0.070, 0.004),
    "pixel pitch (um)": ("pitch", 0.36, 0.01),
}


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100])."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, choices=(128, 256, 384, 512), help="crop, pixels per side")
    parser.add_argument("--tab", default="Images", help="the open view (Images is the heaviest)")
    parser.add_argument("--repeats", type=int, default=12, help="changes per control")
    by_key = {key: label for label, (key, _, _) in CONTROLS.items()}
    parser.add_argument("--controls", nargs="*", default=list(by_key), choices=list(by_key),
                        help="subset of the controls, by widget key (default: all)")
    args = parser.parse_args()

    app = AppTest.from_file(APP, default_timeout=600)
    app.query_params.update({"app_size": str(args.size), "app_tab": args.tab})
    start = time.perf_counter()
    app.run()
    first = time.perf_counter() - start
    if app.exception or app.error:
        raise SystemExit(f"the app failed: {[e.value for e in list(app.exception) + list(app.error)]}")
    # the lock ties F# to pitch: free F# for the F# changes, keep the lock for the pitch changes
    print(f"smallpix app bench: {args.tab} view, {args.size} x {args.size} px crop, {os.cpu_count()} CPUs visible, "
          f"first render (cold: imports, JIT caches, PSFs, scene, OTF) {first:.2f} s")
    summary = []
    for key in args.controls:
        label = by_key[key]
        _, value, step = CONTROLS[label]
        app.sidebar.toggle(key="lock").set_value(key == "pitch").run()
        app.sidebar.slider(key=key).set_value(round(value - step, 4)).run()  # warm this control's code path
        times, scripts, shown, recomputed = [], [], [], {}
        for i in range(args.repeats):
            new = round(value + i * step, 4)
            slider = app.sidebar.slider(key=key).set_value(new)
            start = time.perf_counter()
            slider.run()
            elapsed = time.perf_counter() - start
            if app.exception or app.error:
                raise SystemExit(f"{label}={new}: {[e.value for e in list(app.exception) + list(app.error)]}")
            times.append(elapsed)
            scripts.append(app.session_state["render_seconds"])
            if app.session_state["images_shown_seconds"] is not None:
                shown.append(app.session_state["images_shown_seconds"])
            for row in app.session_state["stage_log"]:
                if row["status"] == "computed":
                    recomputed.setdefault(row["stage"], []).append(row["seconds"])
            crops = app.session_state["images_shown_seconds"]
            print(f"  {label} -> {new:g}: {elapsed:.3f} s" + ("" if crops is None else f" (crops on the page at {crops:.3f} s)"))
        stages = ", ".join(f"{name} {statistics.median(s):.2f}" for name, s in recomputed.items())
        summary.append((label, statistics.median(times), percentile(times, 95), max(times),
                        percentile(scripts, 95), percentile(shown, 95) if shown else float("nan"), stages))
        app.sidebar.slider(key=key).set_value(value).run()
    print()
    print("slider-to-render = AppTest rerun wall time; script p95 = the app's own measure of its script run; "
          "images p95 = when the Images view's crops were on the page (its metrics follow)")
    print(f"{'control':<22} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'script p95':>10} {'images p95':>10}  "
          "recomputed stages (median s)")
    for label, p50, p95, worst, script, images, stages in summary:
        print(f"{label:<22} {p50:7.3f} {p95:7.3f} {worst:7.3f} {script:10.3f} {images:10.3f}  {stages}")


if __name__ == "__main__":
    main()
