"""Slider-change time with N concurrent sessions, each on its own design (streamlit.testing AppTest).

Every session is an AppTest of app/main.py in this one process, as a Streamlit server runs every
browser session's script in its own thread of one process: the cross-session caches (app/cache.py)
and the WORKERS semaphore are shared exactly as in the server. Each session opens on its own
design (a different Table 1 preset and SNR), then all sessions move sliders at the same time,
alternating SNR (redraws the noise) and Zernike Z11 (recomputes PSFs, OTF and RAW) to values no
other session uses, so every change is a real cache miss. The time of a change is the wall time of
that session's rerun, from the slider change to the finished script, waiting for the cores
included; browser transfer and drawing are not.

    .venv/bin/python benchmarks/bench_load.py                        # N = 1, 4, 8 at 256 px, 6 changes each
    .venv/bin/python benchmarks/bench_load.py --sessions 8 --changes 10 --size 512

Prints p50 / p95 / max per N. Timings depend on the machine and its load: note the core count and
what else runs.

AppTest waits for a rerun by polling its event list every millisecond; with eight sessions waiting
at once those eight polling loops took a large share of the two cores and of the GIL from the
scripts they were timing, which a browser session on the server does not do. By default each
session therefore waits on its script runner's completion event instead (the same start and end
points, no CPU spent waiting); ``--apptest-polling`` keeps AppTest's own loop for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as app/main.py does, before numpy / torch load
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest, local_script_runner  # noqa: E402

from benchmarks.bench_app import percentile  # noqa: E402
from engine.design import presets  # noqa: E402

APP = str(ROOT / "app" / "main.py")


def open_session(index: int, size: int, tab: str) -> AppTest:
    """Session ``index`` on its own design: the presets in turn, each session its own SNR."""
    names = list(presets())
    app = AppTest.from_file(APP, default_timeout=600)
    app.query_params.update({"app_size": str(size), "app_tab": tab, "app_preset": names[index % len(names)],
                             "pitch": f"{presets()[names[index % len(names)]].pitch_um:g}",
                             "fnum": f"{presets()[names[index % len(names)]].f_number:g}",
                             "snr": f"{30 + index:g}"})
    app.run()
    failed(app, f"session {index} opening")
    return app


def wait_for_rerun(runner, timeout: float = 3) -> None:
    """AppTest's ``require_widgets_deltas`` without its 1 ms polling loop: block on the runner's
    SHUTDOWN event (same semantics, same timeout error)."""
    done = threading.Event()

    def on_event(_sender, event, **_kwargs) -> None:
        if event == local_script_runner.ScriptRunnerEvent.SHUTDOWN:
            done.set()

    runner.on_event.connect(on_event, weak=False)
    try:
        if runner.script_stopped() or done.wait(timeout):
            return
    finally:
        runner.on_event.disconnect(on_event)
    runner.request_stop()
    runner.join()
    raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")


def failed(app: AppTest, what: str) -> None:
    if app.exception or app.error:
        raise SystemExit(f"{what}: {[e.value for e in list(app.exception) + list(app.error)]}")


def walk(app: AppTest, index: int, changes: int, times: list[float], lock: threading.Lock) -> None:
    """``changes`` slider changes, alternating SNR and Z11, values unique to this session."""
    for step in range(changes):
        if step % 2 == 0:
            widget = app.sidebar.slider(key="snr").set_value(10.0 + 0.5 * (index * changes + step))
        else:
            widget = app.sidebar.slider(key="z11").set_value(round(0.02 + 0.001 * (index * changes + step), 4))
        start = time.perf_counter()
        widget.run()
        elapsed = time.perf_counter() - start
        failed(app, f"session {index} change {step}")
        with lock:
            times.append(elapsed)


def measure(sessions: int, size: int, changes: int, tab: str) -> tuple[list[float], float]:
    """(every change's seconds, wall time of the concurrent walk) for ``sessions`` sessions."""
    apps = [open_session(i, size, tab) for i in range(sessions)]
    times: list[float] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=walk, args=(app, i, changes, times, lock)) for i, app in enumerate(apps)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[1, 4, 8], help="concurrent sessions, N")
    parser.add_argument("--size", type=int, default=256, choices=(128, 256, 384, 512), help="crop, pixels per side")
    parser.add_argument("--changes", type=int, default=6, help="slider changes per session")
    parser.add_argument("--tab", default="Images", help="the open view (Images is the heaviest)")
    parser.add_argument("--apptest-polling", action="store_true",
                        help="wait for each rerun with AppTest's own 1 ms polling loop (costs CPU under load)")
    args = parser.parse_args()
    if not args.apptest_polling:
        local_script_runner.require_widgets_deltas = wait_for_rerun
    print(f"smallpix load bench: {args.tab} view, {args.size} px crop, {args.changes} changes per session, "
          f"waiting by {'AppTest polling' if args.apptest_polling else 'completion event'}, "
          f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f} at start")
    rows = []
    for n in args.sessions:
        times, wall = measure(n, args.size, args.changes, args.tab)
        rows.append((n, len(times), percentile(times, 50), percentile(times, 95), max(times), wall))
        print(f"  N={n}: {len(times)} changes in {wall:.1f} s, p50 {rows[-1][2]:.2f} s, p95 {rows[-1][3]:.2f} s")
    print()
    print(f"{'sessions':>8} {'changes':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'wall s':>7}")
    for n, count, p50, p95, worst, wall in rows:
        print(f"{n:>8} {count:>8} {p50:7.2f} {p95:7.2f} {worst:7.2f} {wall:7.1f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
