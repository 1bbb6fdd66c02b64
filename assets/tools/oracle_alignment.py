"""Table 4 diagnosis: the multi-frame Neural ISP's grating MTF50 with the burst aligner's shift
estimates (as shipped) and with the true hand-shake (an oracle aligner), at the Table 4 setting
(preset 0.35 um, 15 dB per frame, bursts of 10), full Table 2 grating settings. Separates what the
network restores from what the aligner fails to register (low-contrast gratings near the MTF50
frequency at 15 dB per frame).

    .venv/bin/python assets/tools/oracle_alignment.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import instruments, memo, sensor, study, study_lowlight  # noqa: E402
from engine.isp import traditional  # noqa: E402


def main() -> None:
    settings = study.STUDY_SETTINGS["full"]
    design = study_lowlight.lowlight_design(study_lowlight.BURST_FRAMES)
    simulate_raw, burst_shifts = sensor.simulate_raw, traditional.burst_shifts
    truth = {}

    def remembering(*args, **kwargs):  # the instrument's captures: keep their true hand-shake
        capture = simulate_raw(*args, **kwargs)
        truth["shifts"] = capture.shifts_px
        return capture

    for label, aligner in (("estimated (shipped)", burst_shifts), ("true hand-shake (oracle)", lambda frames: -truth["shifts"])):
        sensor.simulate_raw, traditional.burst_shifts = remembering, aligner
        memo.clear_all()  # the burst aligner remembers bursts it has aligned
        try:
            mtf = instruments.measure_mtf(design, ("traditional", "neural"), size_px=settings["size_px"], count=settings["count"])
        finally:
            sensor.simulate_raw, traditional.burst_shifts = simulate_raw, burst_shifts
        for pipeline, result in mtf.items():
            print(f"shifts {label:<26} {pipeline:<12} MTF50 H {result.mtf50_h_cyc_per_mm:6.0f}  V {result.mtf50_v_cyc_per_mm:6.0f} "
                  "cycles/mm", flush=True)


if __name__ == "__main__":
    main()
