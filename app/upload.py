"""Uploaded scene images: checked, normalised to a plain sRGB PNG, stored by content hash.

Pure (PIL and the engine's image caps, no Streamlit). :func:`prepare_upload` either returns a PNG
the engine's photo scene reads without surprises, with notes on anything it changed, or raises
:class:`UploadError` with one sentence for the user. Rules:

* size cap ``UPLOAD_MAX_MB`` (checked before decoding), pixel cap ``UPLOAD_MAX_MEGAPIXELS`` (the
  engine's photo cap; checked from the header, before the pixels are decoded), at least
  ``UPLOAD_MIN_SIDE_PX`` per side;
* not an image, or a truncated / corrupt one: refused;
* EXIF orientation applied; only the first frame of a multi-frame file is used (noted);
* transparency (RGBA, LA, palette with transparency) flattened onto white (noted);
* CMYK converted to RGB without a colour profile (noted: colours approximate);
* 16-bit greyscale kept at 16 bits (the engine decodes it at full precision);
* 32-bit integer greyscale whose values fit 16 bits is kept as 16-bit; float and wider images,
  and other colour modes (LAB, HSV, ...), are refused with what to convert them to;
* an embedded ICC profile is ignored (values are taken as sRGB; noted).

The stored file is named by the SHA-256 of the uploaded bytes, so the same upload in two sessions
maps to one file and one cache entry, and no session can reach another's file without its bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.scenes import MAX_IMAGE_FILE_MB, MAX_IMAGE_MEGAPIXELS

UPLOAD_MAX_MB = min(25, MAX_IMAGE_FILE_MB)
"""Largest upload, MB: Streamlit's transfer cap (``maxUploadSize`` in .streamlit/config.toml), within
the engine's image file cap."""
UPLOAD_MAX_MEGAPIXELS = MAX_IMAGE_MEGAPIXELS
"""Most pixels of an upload, millions: as many as the engine's photo scene decodes."""
UPLOAD_MIN_SIDE_PX = 64
UPLOAD_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "webp", "bmp")
_NORMALISATION_VERSION = "1"


class UploadError(ValueError):
    """An upload the app cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class PreparedUpload:
    """A normalised upload: PNG path, content hash, size in pixels and notes on what was changed."""

    path: Path
    sha256: str
    width: int
    height: int
    notes: tuple[str, ...]


def upload_folder() -> Path:
    return Path(tempfile.gettempdir()) / "smallpix-uploads"


def prepare_upload(
    name: str,
    data: bytes,
    *,
    folder: Path | None = None,
    max_mb: float = UPLOAD_MAX_MB,
    max_megapixels: float = UPLOAD_MAX_MEGAPIXELS,
    min_side_px: int = UPLOAD_MIN_SIDE_PX,
) -> PreparedUpload:
    """Check and normalise the uploaded file ``name`` (its ``data`` bytes); see the module docstring."""
    size_mb = len(data) / 2**20
    if size_mb > max_mb:
        raise UploadError(f"{name} is {size_mb:.1f} MB; the cap is {max_mb:g} MB. Downscale or compress it first.")
    if not data:
        raise UploadError(f"{name} is empty.")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise UploadError(f"{name} has far more pixels than the cap of {max_megapixels:g} megapixels.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise UploadError(f"{name} is not an image this app can read (PNG, JPEG, TIFF, WebP or BMP).") from None
    width, height = image.size
    if width * height > max_megapixels * 1e6:
        raise UploadError(
            f"{name} is {width} x {height} ({width * height / 1e6:.1f} megapixels); the cap is "
            f"{max_megapixels:g} megapixels. Downscale it first."
        )
    if min(width, height) < min_side_px:
        raise UploadError(f"{name} is {width} x {height} pixels; it needs at least {min_side_px} pixels per side.")
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"{name} has {image.n_frames} frames; the first is used.")
    if image.info.get("icc_profile"):
        notes.append("its embedded colour profile is ignored: pixel values are taken as sRGB.")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        normalised = _normalise_mode(image, name, notes)
    except UploadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadError(f"{name} could not be decoded (truncated or corrupt?): {exc}") from None
    digest = hashlib.sha256(_NORMALISATION_VERSION.encode() + data).hexdigest()
    folder = folder or upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.png"
    if not path.is_file():
        buffer = io.BytesIO()
        normalised.save(buffer, format="PNG", compress_level=1)
        tmp = folder / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
    return PreparedUpload(path, digest, normalised.width, normalised.height, tuple(notes))


def _normalise_mode(image: Image.Image, name: str, notes: list[str]) -> Image.Image:
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            notes.append("its transparency is flattened onto white.")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in ("1", "L"):
        return image.convert("L")
    if mode in ("P", "RGB", "RGBX", "YCbCr"):
        return image.convert("RGB")
    if mode == "CMYK":
        notes.append("it is CMYK: converted to RGB without a colour profile, so colours are approximate.")
        return image.convert("RGB")
    if mode.startswith("I;16"):
        notes.append("16-bit greyscale is kept at full precision.")
        return image
    if mode == "I":
        values = np.asarray(image)
        if values.min() >= 0 and values.max() <= 65535:
            notes.append("32-bit integer greyscale with 16-bit values: kept as 16-bit greyscale.")
            return Image.fromarray(values.astype(np.uint16))
        raise UploadError(
            f"{name} is 32-bit integer greyscale with values beyond 16 bits; save it as 8- or 16-bit PNG or TIFF."
        )
    if mode == "F":
        raise UploadError(
            f"{name} holds 32-bit floating-point pixels (HDR or scientific data); save it as an 8- or 16-bit "
            "sRGB PNG or TIFF."
        )
    raise UploadError(f"{name} has colour mode {mode!r}, which is not supported; save it as an sRGB PNG or JPEG.")
