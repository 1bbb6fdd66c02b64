"""The paper's Table 6 telephoto phones, from ``assets/devices.csv`` (pure data, used by the study and the app)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DEVICES_CSV = Path(__file__).resolve().parents[1] / "assets" / "devices.csv"


@dataclass(frozen=True)
class Device:
    """One phone's telephoto camera. pitch_um: micrometres; focal_length_mm_equiv: 35 mm equivalent."""

    device: str
    megapixels: float
    f_number: float
    focal_length_mm_equiv: float
    sensor_format: str
    pitch_um: float
    optical_zoom: float
    release_year: int

    def hover(self) -> str:
        return (
            f"<b>{self.device}</b> ({self.release_year})<br>{self.megapixels:g} MP, {self.pitch_um:g} um pixels, "
            f"F/{self.f_number:g}<br>{self.focal_length_mm_equiv:g} mm equiv., {self.optical_zoom:g}x zoom, "
            f"{self.sensor_format} sensor"
        )


def load_devices(path: Path = DEVICES_CSV) -> tuple[Device, ...]:
    """Rows of the CSV (lines starting with '#' are comments), typed."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return tuple(
        Device(
            device=row["device"],
            megapixels=float(row["megapixels"]),
            f_number=float(row["f_number"]),
            focal_length_mm_equiv=float(row["focal_length_mm_equiv"]),
            sensor_format=row["sensor_format"],
            pitch_um=float(row["pitch_um"]),
            optical_zoom=float(row["optical_zoom"]),
            release_year=int(row["release_year"]),
        )
        for row in rows
    )
