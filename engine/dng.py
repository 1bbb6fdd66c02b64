"""DNG export of a RAW capture: the CFA mosaic as 16-bit data that standard RAW tools open.

Written and read with tifffile (a maintained TIFF library; no hand-written TIFF). One uncompressed
IFD (NewSubfileType 0, PhotometricInterpretation CFA), DNG 1.4:

* **Data:** ``BLACK_LEVEL + raw * SIGNAL_SCALE``, rounded and clipped to [0, WHITE_LEVEL], uint16:
  raw 1.0 (a perfect white diffuser in green, engine.sensor's reference signal) sits at 80 % of the
  range (``WHITE_SIGNAL`` = 1.25 is the clip), and noise below zero keeps down to
  ``-BLACK_LEVEL / SIGNAL_SCALE``. BlackLevel and WhiteLevel carry the two levels.
* **CFA:** ``CFARepeatPatternDim`` / ``CFAPattern`` give the layout's full repeat, read off the
  capture's own mosaic (Bayer 2x2, Quad 4x4, hex 8x8); colours 0 R, 1 G, 2 B (``CFAPlaneColor``).
* **Colour:** ``ColorMatrix1`` (XYZ -> camera RGB under D65, ``CalibrationIlluminant1`` = 21) is the
  inverse of our colour chain (white balance, then the ColorChecker CCM to linear sRGB, then sRGB
  to XYZ), scaled so D65 white gives a camera maximum of 1 (the DNG convention);
  ``AsShotNeutral`` is the camera RGB of the illuminant's white (1 / the white-balance gains).
* **Design:** the design JSON in the XMP packet (``smallpix:design``), and in ``UniqueCameraModel``
  its hash. A burst writes its reference frame (frame 0).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

BLACK_LEVEL = 1024
WHITE_LEVEL = 65535
WHITE_SIGNAL = 1.25
SIGNAL_SCALE = (WHITE_LEVEL - BLACK_LEVEL) / WHITE_SIGNAL
"""16-bit levels per unit of RAW signal (engine.sensor: 1.0 = perfect white diffuser in green)."""
MAX_REPEAT_PX = 8
D65_ILLUMINANT = 21  # EXIF LightSource code of CalibrationIlluminant1
RATIONAL_DENOMINATOR = 1_000_000
XMP_NAMESPACE = "https://github.com/smallpix/ns/1.0/"
_TAGS = {"CFARepeatPatternDim": 33421, "CFAPattern": 33422, "XMP": 700, "BlackLevel": 50714, "WhiteLevel": 50717,
         "ColorMatrix1": 50721, "AsShotNeutral": 50728}


@dataclass(frozen=True)
class DngImage:
    """What :func:`read_dng` finds: mosaic (H, W) uint16, cfa_pattern (n, n) colour indices,
    black/white levels, color_matrix (3, 3) XYZ -> camera, as_shot_neutral (3,), design dict."""

    mosaic: np.ndarray
    cfa_pattern: np.ndarray
    black_level: int
    white_level: int
    color_matrix: np.ndarray
    as_shot_neutral: np.ndarray
    design: dict


def encode_mosaic(raw: np.ndarray) -> np.ndarray:
    """RAW signal -> the DNG's uint16 levels (BLACK_LEVEL + raw * SIGNAL_SCALE, clipped)."""
    return np.clip(np.round(BLACK_LEVEL + raw.astype(np.float64) * SIGNAL_SCALE), 0, WHITE_LEVEL).astype(np.uint16)


def decode_mosaic(levels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_mosaic` (float32 RAW signal; exact to one level where nothing clipped)."""
    return ((levels.astype(np.float64) - BLACK_LEVEL) / SIGNAL_SCALE).astype(np.float32)


def repeat_pattern(cfa: np.ndarray) -> np.ndarray:
    """The smallest square tile (side 2, 4 or 8 px) that repeats to ``cfa``'s top-left 8 x 8 pixels
    (every layout of engine.sensor repeats within 8 px)."""
    corner = cfa[:MAX_REPEAT_PX, :MAX_REPEAT_PX].astype(np.uint8)
    for n in (2, 4):
        if np.array_equal(np.tile(corner[:n, :n], (MAX_REPEAT_PX // n,) * 2), corner):
            return corner[:n, :n]
    return corner


def colour_matrices() -> tuple[np.ndarray, np.ndarray]:
    """(ColorMatrix1: XYZ -> camera RGB under D65, max 1 for D65 white; AsShotNeutral: camera RGB of white)."""
    import colour

    from engine.isp.color import color_chain

    chain = color_chain("D65")
    srgb = colour.RGB_COLOURSPACES["sRGB"]
    camera_from_srgb = np.diag(1.0 / chain.wb_gains) @ np.linalg.inv(chain.ccm.astype(np.float64))
    matrix = camera_from_srgb @ srgb.matrix_XYZ_to_RGB
    white_xyz = colour.xy_to_XYZ(srgb.whitepoint)
    return matrix / (matrix @ white_xyz).max(), (1.0 / chain.wb_gains).astype(np.float64)


def _rationals(values: np.ndarray) -> list[int]:
    flat = np.round(np.asarray(values, dtype=np.float64).ravel() * RATIONAL_DENOMINATOR).astype(int)
    return [int(v) for n in flat for v in (n, RATIONAL_DENOMINATOR)]


def _xmp(design: dict) -> bytes:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:smallpix="{XMP_NAMESPACE}" smallpix:design={quoteattr(json.dumps(design, sort_keys=True))}/>'
            '</rdf:RDF></x:xmpmeta>').encode()


def dng_bytes(capture) -> bytes:
    """The DNG of ``capture`` (an engine.sensor.RawCapture), in memory."""
    import tifffile

    raw = capture.raw[0] if capture.raw.ndim == 3 else capture.raw
    pattern = repeat_pattern(capture.cfa)
    matrix, neutral = colour_matrices()
    design = capture.design.to_dict()
    xmp = _xmp(design)
    tags = [
        (50706, 1, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, 1, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (271, 2, 0, "smallpix", True),  # Make
        (272, 2, 0, "smallpix simulated sensor", True),  # Model
        (50708, 2, 0, f"smallpix {capture.design.design_hash()}", True),  # UniqueCameraModel
        (_TAGS["CFARepeatPatternDim"], 3, 2, pattern.shape, True),
        (_TAGS["CFAPattern"], 1, pattern.size, tuple(int(v) for v in pattern.ravel()), True),
        (50710, 1, 3, (0, 1, 2), True),  # CFAPlaneColor: R, G, B
        (50711, 3, 1, 1, True),  # CFALayout: rectangular
        (50713, 3, 2, (1, 1), True),  # BlackLevelRepeatDim
        (_TAGS["BlackLevel"], 4, 1, BLACK_LEVEL, True),
        (_TAGS["WhiteLevel"], 4, 1, WHITE_LEVEL, True),
        (_TAGS["ColorMatrix1"], 10, 9, tuple(_rationals(matrix)), True),
        (50778, 3, 1, D65_ILLUMINANT, True),  # CalibrationIlluminant1
        (_TAGS["AsShotNeutral"], 5, 3, tuple(_rationals(neutral)), True),
        (_TAGS["XMP"], 1, len(xmp), xmp, True),
    ]
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, encode_mosaic(raw), photometric=32803, subfiletype=0, metadata=None, software=None,
                     extratags=tags)
    return buffer.getvalue()


def write_dng(capture, out) -> None:
    """Write the DNG of ``capture`` to ``out``, a path or a binary file handle."""
    data = dng_bytes(capture)
    if hasattr(out, "write"):
        out.write(data)
    else:
        Path(out).write_bytes(data)


def _ratio_values(value) -> np.ndarray:
    flat = np.asarray(value, dtype=np.float64).ravel()
    return flat[0::2] / flat[1::2]


def read_dng(path: str | Path) -> DngImage:
    """Read a DNG written by :func:`write_dng` back with tifffile (mosaic, pattern, levels, colour, design)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tags = {code: page.tags[code].value for code in _TAGS.values() if code in page.tags}
        mosaic = page.asarray()
    rows, cols = tags[_TAGS["CFARepeatPatternDim"]]
    xmp = tags.get(_TAGS["XMP"], b"")
    description = ET.fromstring(xmp.decode() if isinstance(xmp, bytes) else xmp).find(
        ".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    return DngImage(
        mosaic=mosaic,
        cfa_pattern=np.frombuffer(bytes(tags[_TAGS["CFAPattern"]]), np.uint8).reshape(rows, cols),
        black_level=int(np.ravel(tags[_TAGS["BlackLevel"]])[0]),
        white_level=int(np.ravel(tags[_TAGS["WhiteLevel"]])[0]),
        color_matrix=_ratio_values(tags[_TAGS["ColorMatrix1"]]).reshape(3, 3),
        as_shot_neutral=_ratio_values(tags[_TAGS["AsShotNeutral"]]),
        design=json.loads(description.get(f"{{{XMP_NAMESPACE}}}design")),
    )
