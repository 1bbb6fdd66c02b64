"""The Latin + CJK text chart: a periodic tile of text rows drawn once in an installed CJK font and
area-resampled to any sample spacing (see :func:`text_chart`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.scenes.grid import SceneError, axes_um, check_grid, neutral
from engine.scenes.resample import resample
from engine.validation import check_range

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei (.ci/system-deps)
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
)
TEXT_LINES = (
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "光学像差与小像素传感器：神经网络图像信号处理。",
    "Sharpness 锐度 解像力 MTF50 ひらがな カタカナ 漢字 ISO 12233",
    "小さな画素で細かい文字を読む。解像度とノイズ。",
    "Pack my box with five dozen liquor jugs! (0.35 µm)",
    "新しいレンズ 设计 한국어 텍스트 RAW → RGB",
)
"""One row each, repeated to fill the tile width; row k is drawn at TEXT_ROW_SCALE**k of the first."""
TEXT_ROW_SCALE = 0.8
TEXT_TILE_EMS = 36.0
"""Width of the periodic text tile, in ems of the first (largest) row."""


def cjk_font_path() -> Path:
    """The first installed font of CJK_FONT_CANDIDATES (Latin + CJK glyphs)."""
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise SceneError(
        "font",
        "an installed CJK font, one of " + ", ".join(CJK_FONT_CANDIDATES)
        + " (install it with `apt-get install fonts-wqy-microhei` or `bash .ci/system-deps`)",
        None, got="none installed",
    )


def _fill_line(text: str, font: ImageFont.FreeTypeFont, width_px: float) -> str:
    """``text`` repeated, cut to the longest prefix that fits ``width_px``."""
    repeated = (text + "  ") * (1 + int(width_px // max(font.getlength(text + "  "), 1.0)))
    lo, hi = 0, len(repeated)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if font.getlength(repeated[:mid]) <= width_px else (lo, mid - 1)
    return repeated[:lo]


@lru_cache(maxsize=1)
def _text_tile() -> tuple[np.ndarray, float]:
    """Ink coverage (Ht, Wt) in [0, 1] of the periodic text tile, and its first row's em in pixels.
    Drawn once, finely (the smallest row's em is 24 px), and resampled to any dx_um."""
    em_first = round(24 / TEXT_ROW_SCALE ** (len(TEXT_LINES) - 1))
    width = round(TEXT_TILE_EMS * em_first)
    ems = [round(em_first * TEXT_ROW_SCALE**k) for k in range(len(TEXT_LINES))]
    height = round(sum(1.4 * em for em in ems))
    tile = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(tile)
    top = 0.0
    for line, em in zip(TEXT_LINES, ems):
        font = ImageFont.truetype(str(cjk_font_path()), em)
        margin = 0.5 * em
        draw.text((margin, top + 0.2 * em), _fill_line(line, font, width - 2 * margin), font=font, fill=255)
        top += 1.4 * em
    return np.asarray(tile, dtype=np.float32) / 255.0, float(em_first)


def text_chart(dx_um: float, shape: tuple[int, int], *, text_height_um: float = 6.0, ink: float = 0.04,
               paper: float = 0.85) -> np.ndarray:
    """Text chart mixing Latin and CJK (Chinese, Japanese, Korean) rows, in a font from
    CJK_FONT_CANDIDATES, dark neutral ``ink`` on ``paper`` (reflectances).

    The first row's em (font size) is ``text_height_um`` micrometres on the sensor; each next row is
    0.8 x the previous (6 rows, down to 0.33 x). The tile (TEXT_TILE_EMS ems wide) repeats
    periodically over the plane, centred on the scene origin.
    """
    dx_um, h, w = check_grid(dx_um, shape)
    text_height = check_range("text_height_um", text_height_um, dx_um, 1e4, f"um (at least dx_um={dx_um:g})",
                              error=SceneError)
    ink = check_range("ink", ink, 0.0, 1.0, "(reflectance)", error=SceneError)
    paper = check_range("paper", paper, 0.0, 1.0, "(reflectance)", error=SceneError)
    coverage, em_px = _text_tile()
    px_um = text_height / em_px
    y, x = axes_um(dx_um, h, w)
    rows = y / px_um + (coverage.shape[0] - 1) / 2
    cols = x / px_um + (coverage.shape[1] - 1) / 2
    ink_cover = resample(coverage[..., None], rows, cols, dx_um / (2 * px_um), periodic=True)[..., 0]
    return neutral(paper + (ink - paper) * ink_cover)
