"""Photographs as scenes: decoding sRGB files to linear sRGB (with caps), placing a photo on the
sensor plane at a given photo-pixel size, and the curated photo sets for training and testing."""

from __future__ import annotations

import importlib.util
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine import spectra
from engine.isp.color import srgb_decode
from engine.scenes.grid import ILLUMINANT, SceneError, axes_um, check_grid
from engine.scenes.resample import resample
from engine.validation import check_choice, check_range

ASSETS = Path(__file__).resolve().parents[2] / "assets"
IMAGES_DIR = ASSETS / "images"
PHOTO_SETS_JSON = ASSETS / "photo_sets.json"
PHOTO_SPLITS = ("train", "validation", "test")
MAX_IMAGE_FILE_MB = 200
"""Largest image file a photo scene reads, MB (2**20 bytes)."""
MAX_IMAGE_MEGAPIXELS = 50
"""Most pixels (width x height, millions) of an image a photo scene decodes."""
DEFAULT_SOURCE_PIXEL_UM = 0.35
"""Sensor-plane size of one photo pixel: the finest Table 1 pitch, so no Table 1 design sees a photo
pixel coarser than its own pixels (a 1600 x 1200 photo then covers 560 x 420 um)."""

_GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_RGB_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "YCbCr")
_READABLE = "a readable image (PNG, JPEG or TIFF)"


def _open_checked(path: Path) -> Image.Image:
    """Open ``path`` with PIL after the file checks; raises FileNotFoundError or SceneError (field
    "scene image")."""
    if not path.exists():
        raise FileNotFoundError(f"scene image not found: {path}")
    if not path.is_file():
        raise SceneError("scene image", "a file", str(path))
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_IMAGE_FILE_MB:
        raise SceneError("scene image", f"at most {MAX_IMAGE_FILE_MB} MB", str(path), got=f"{path} ({size_mb:.0f} MB)")
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise SceneError("scene image", f"at most {MAX_IMAGE_MEGAPIXELS} megapixels", str(path),
                         got=f"{path} (more than the decoder's limit)") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise SceneError("scene image", _READABLE, str(path), got=f"{path} ({exc})") from None
    megapixels = image.width * image.height / 1e6
    if megapixels > MAX_IMAGE_MEGAPIXELS:
        raise SceneError("scene image", f"at most {MAX_IMAGE_MEGAPIXELS} megapixels", str(path),
                         got=f"{path} ({image.width} x {image.height}, {megapixels:.0f} megapixels)")
    if image.mode not in _GREY16_MODES + _RGB_MODES:
        raise SceneError("scene image", "RGB(A), greyscale (8 or 16 bit) or palette (convert CMYK and other modes "
                         "to sRGB first)", str(path), got=f"{path} (colour mode {image.mode!r})")
    return image


def _srgb_codes(image: Image.Image) -> tuple[np.ndarray, int]:
    """(H, W, 3) integer sRGB codes after the EXIF orientation, alpha dropped, grey expanded; and the
    full-scale code (255 or 65535)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in _GREY16_MODES:
        grey = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return np.repeat(grey[..., None], 3, axis=2), 65535
    return np.asarray(image.convert("RGB")), 255


@lru_cache(maxsize=2)
def _linear_srgb_cached(path: str, mtime_ns: int) -> np.ndarray:
    image = _open_checked(Path(path))
    try:
        with image:
            codes, full_scale = _srgb_codes(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise SceneError("scene image", _READABLE, path, got=f"{path} ({exc})") from None
    lut = srgb_decode(np.arange(full_scale + 1) / full_scale).astype(np.float32)
    return lut[codes]


def load_linear_srgb(path: str | Path) -> np.ndarray:
    """Decode an sRGB image file (PNG, JPEG or TIFF; 8 or 16 bit; EXIF orientation applied; alpha
    dropped; greyscale expanded to 3 channels) to linear sRGB, float32 (H, W, 3) in [0, 1].

    The pixel values are taken as sRGB-encoded (embedded ICC profiles are ignored). Pillow reads
    16-bit colour (RGB) files at 8-bit precision; 16-bit greyscale keeps full precision. Caps: file
    size MAX_IMAGE_FILE_MB, MAX_IMAGE_MEGAPIXELS. The last two decoded files are cached.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"scene image not found: {path}")
    return _linear_srgb_cached(str(path.resolve()), path.stat().st_mtime_ns)


def _check_source_pixel(source_pixel_um) -> float:
    return check_range("source_pixel_um", source_pixel_um, 0.001, 1e3, "um", error=SceneError)


def photo_extent_um(path: str | Path, source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM) -> tuple[float, float]:
    """(height_um, width_um) that the photo covers on the sensor at ``source_pixel_um`` per pixel."""
    source_pixel = _check_source_pixel(source_pixel_um)
    h, w = load_linear_srgb(path).shape[:2]
    return h * source_pixel, w * source_pixel


COVER_SLACK = 1.02
"""A photo enlarged to cover a view is enlarged 2 % beyond it, so rounding never reaches past its
edge (the study's and the training data's rule since 2026-11-25; the app's placement had its own
0.1 % and now uses this one)."""


def covering_pixel_um(rows: int, cols: int, view_um: float, source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM) -> float:
    """The photo pixel on the sensor, micrometres: ``source_pixel_um``, or larger (COVER_SLACK to
    spare) where a ``rows`` x ``cols`` pixel photo would not cover a square view ``view_um`` wide."""
    return max(source_pixel_um, COVER_SLACK * view_um / min(rows, cols))


def covering_source_pixel_um(path: str | Path, view_um: float,
                             source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM) -> float:
    """:func:`covering_pixel_um` of the photo at ``path`` (after its EXIF orientation)."""
    height_px, width_px = photo_extent_um(path, 1.0)
    return covering_pixel_um(height_px, width_px, view_um, source_pixel_um)


def photo(path: str | Path, dx_um: float, shape: tuple[int, int], *,
          source_pixel_um: float = DEFAULT_SOURCE_PIXEL_UM, offset_um: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A photograph as a scene: each source pixel is a ``source_pixel_um`` square on the sensor, the
    photo's centre at the scene origin; the view is centred ``offset_um = (x, y)`` micrometres from it
    (x right, y down) and must lie inside the photo.

    Decoded by :func:`load_linear_srgb`; the scene between pixel centres is the linear interpolation
    of the pixels, and each sample is its exact area mean (so a photo magnified beyond its pixels is
    smooth, not a mosaic of squares, and any dx_um renders the same object), then converted with
    ``spectra.linear_srgb_to_camera``.
    """
    dx_um, h, w = check_grid(dx_um, shape)
    source_pixel = _check_source_pixel(source_pixel_um)
    if not isinstance(offset_um, (tuple, list)) or len(offset_um) != 2:
        raise SceneError("offset_um", "a pair (x_um, y_um)", offset_um)
    ox = check_range("offset_um[0]", offset_um[0], -1e6, 1e6, "um", error=SceneError)
    oy = check_range("offset_um[1]", offset_um[1], -1e6, 1e6, "um", error=SceneError)
    linear = load_linear_srgb(path)
    hs, ws = linear.shape[:2]
    view_w, view_h, photo_w, photo_h = w * dx_um, h * dx_um, ws * source_pixel, hs * source_pixel
    tol = 1e-9 * max(photo_w, photo_h)
    if abs(ox) + view_w / 2 > photo_w / 2 + tol or abs(oy) + view_h / 2 > photo_h / 2 + tol:
        least_um = math.ceil(1e3 * max((2 * abs(ox) + view_w) / ws, (2 * abs(oy) + view_h) / hs)) / 1e3
        raise SceneError(
            "view",
            f"inside {Path(path).name}, which covers {photo_w:.1f} x {photo_h:.1f} um ({ws} x {hs} px at "
            f"source_pixel_um={source_pixel:g}; source_pixel_um={least_um:g} or more covers this view, or use "
            "a smaller view or offset)",
            (view_w, view_h, ox, oy),
            got=f"{view_w:.1f} x {view_h:.1f} um (W x H: shape {(h, w)} at dx_um={dx_um:g}) centred at "
                f"offset_um=({ox:g}, {oy:g})",
        )
    y, x = axes_um(dx_um, h, w)
    rows = (y + oy) / source_pixel + (hs - 1) / 2
    cols = (x + ox) / source_pixel + (ws - 1) / 2
    resampled = resample(linear, rows, cols, dx_um / (2 * source_pixel), cell="tent")
    return spectra.linear_srgb_to_camera(resampled, ILLUMINANT)


BUNDLED_PHOTOS = {f"photo_{p.stem}": p for p in sorted(IMAGES_DIR.glob("*.jpg"))}
"""The photographs in assets/images/ (licences in assets/images/LICENSES.md), by scene name."""


# --- photo sets for training and testing -----------------------------------------------------------


class PhotoSetMissing(FileNotFoundError):
    """Some package that a photo split reads from is not installed; the message names it and how to
    install it."""


@lru_cache(maxsize=1)
def _photo_sets() -> dict:
    return json.loads(PHOTO_SETS_JSON.read_text(encoding="utf-8"))


def _package_root(package: str) -> Path | None:
    """Folder that the package's listed files are relative to, or None if not installed."""
    entry = _photo_sets()["packages"][package]
    if entry["installer"] == "pip":
        spec = importlib.util.find_spec(entry["module"])
        return Path(spec.submodule_search_locations[0]) / entry["root"] if spec else None
    return Path(entry["root"])


def _split_files(split: str) -> list[tuple[str, Path | None]]:
    check_choice("split", split, PHOTO_SPLITS, error=SceneError)
    files = []
    for item in _photo_sets()["splits"][split]:
        root = _package_root(item["package"])
        files.append((item["package"], root / item["file"] if root else None))
    return files


def missing_photo_packages(split: str) -> list[str]:
    """Packages of ``split`` with at least one listed file absent, each with its install command."""
    packages = _photo_sets()["packages"]
    missing = sorted({pkg for pkg, path in _split_files(split) if path is None or not path.is_file()})
    return [f"{pkg} ({packages[pkg]['install']})" for pkg in missing]


def photo_set(split: str, *, allow_missing: bool = False) -> list[Path]:
    """Photographs of ``split`` ("train", "validation" or "test"), as curated in assets/photo_sets.json,
    read from installed Debian and pip packages (nothing is downloaded).

    Raises PhotoSetMissing naming the packages to install, unless ``allow_missing``: then returns the
    files present.
    """
    files = _split_files(split)
    if not allow_missing:
        missing = missing_photo_packages(split)
        if missing:
            raise PhotoSetMissing(f"photo set {split!r} needs {'; '.join(missing)} (or run `bash .ci/system-deps`)")
    return [path for _, path in files if path is not None and path.is_file()]
