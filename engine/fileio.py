"""Files named on the command line: atomic writes to exactly the path given, and guarded reads.

Writing: :func:`check_output_file` refuses, before any work is done, a path that cannot become the
output (``''``, ``'-'``, a folder, another extension, a name longer than the file system allows, a
parent that is a file or not writable); :func:`atomic_output` then writes through a temporary file
in the same folder renamed over the path (``os.replace``), so a failed write (disk full, an
exception while encoding) leaves neither a partial file nor a damaged earlier one. Writers get a
file handle, so ``np.savez`` cannot append ``.npz`` to the name.

Reading: :func:`check_input_file` looks at a path with ``stat`` only, so a FIFO, device or folder is
refused without being opened (opening a FIFO blocks); :func:`npz_headers` reads the shape and dtype
of every array of an ``.npz`` from its ``.npy`` headers, so callers can check sizes before any array
is allocated; :func:`load_npz` then loads the arrays.

Every error is a :class:`FileArgumentError`: one line naming the option and the problem.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

NAME_MAX_BYTES = 255  # when the file system does not say (os.pathconf)
PATH_MAX_BYTES = 4096
NPZ_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError,
                   RuntimeError)  # RuntimeError: an encrypted zip member
PLAIN_DTYPE_KINDS = "biufU"  # bool, integers, floats, unicode text: no objects, records or bytes


class FileArgumentError(ValueError):
    """A path given to a command-line option that cannot be used: ``"<option>: <problem>"``."""

    def __init__(self, option: str, problem: str):
        super().__init__(f"{option}: {problem}")


def check_output_file(path: str, option: str, suffixes: tuple[str, ...]) -> Path:
    """``path`` as the output file of ``option``, or a FileArgumentError saying why it cannot be one.

    suffixes: the allowed extensions, lower case with the dot (``(".npz",)``). Missing parent
    folders are fine (:func:`atomic_output` creates them).
    """
    wanted = "a file path ending in " + (suffixes[0] if len(suffixes) == 1 else f"one of {', '.join(suffixes)}")
    if path in ("", "-"):
        raise FileArgumentError(option, f"needs {wanted}, got {path!r} (standard output is not supported)")
    if "\0" in path:
        raise FileArgumentError(option, f"needs {wanted}, got a path with a NUL character: {path!r}")
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise FileArgumentError(option, f"{path!r} is a folder; give {wanted}")
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise FileArgumentError(option, f"needs {wanted}, got {path!r}")
    _check_can_create(out.parent, out, option)
    if out.exists() and not out.is_file():
        raise FileArgumentError(option, f"{path!r} exists and is not a regular file; give another path")
    return out


def check_output_folder(path: str, option: str) -> Path:
    """``path`` as the output folder of ``option`` (created when written), or a FileArgumentError."""
    if path in ("", "-") or "\0" in path:
        raise FileArgumentError(option, f"needs a folder path, got {path!r}")
    folder = Path(path)
    _check_can_create(folder, folder, option)
    return folder


def _check_can_create(folder: Path, target: Path, option: str) -> None:
    """Refuse ``target`` (in ``folder``) when its nearest existing ancestor is a file or not writable,
    or when a name in it is longer than the file system allows."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise FileArgumentError(option, f"cannot write {str(target)!r}: {str(existing)!r} is a file, not a folder")
    _check_name_lengths(target, existing, option)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FileArgumentError(option, f"cannot write {str(target)!r}: no permission to write in {str(existing)!r}")


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (as anything)."""
    folder = Path(os.path.abspath(folder))
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_name_lengths(out: Path, existing: Path, option: str) -> None:
    """Refuse a path whose file or folder names, or whole length, the file system cannot hold."""
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = NAME_MAX_BYTES
    too_long = [part for part in out.parts if len(os.fsencode(part)) > name_max]
    if too_long:
        raise FileArgumentError(option, f"the name {too_long[0][:40]!r}... is {len(os.fsencode(too_long[0]))} bytes; "
                                        f"the file system allows {name_max}")
    if len(os.fsencode(os.path.abspath(out))) >= PATH_MAX_BYTES:
        raise FileArgumentError(option, f"the path is longer than the {PATH_MAX_BYTES} bytes the system allows")


@contextlib.contextmanager
def atomic_output(path: Path, option: str) -> Iterator[BinaryIO]:
    """A binary handle whose contents become ``path`` only if the ``with`` block succeeds.

    The data go to a temporary file in ``path``'s folder (created if missing), flushed to disk and
    renamed over ``path``. On any error the temporary file is removed and an existing ``path`` is
    left as it was; an OSError (disk full, permission) becomes a FileArgumentError.
    """
    tmp = path.parent / f".smallpix-{secrets.token_hex(8)}.tmp"  # short: fits beside any legal name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise FileArgumentError(option, f"cannot write {str(path)!r}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise FileArgumentError(option, f"cannot write {str(path)!r}: {err.strerror or err}") from None
        raise


def check_input_file(path: str, option: str, max_mb: float) -> Path:
    """``path`` if it is a regular file of at most ``max_mb`` MB, else a FileArgumentError.

    Only ``stat`` is used, so a FIFO or device is refused without being opened.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileArgumentError(option, f"no file at {path!r}") from None
    except (OSError, ValueError) as err:
        raise FileArgumentError(option, f"cannot read {path!r}: {getattr(err, 'strerror', None) or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileArgumentError(option, f"{path!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileArgumentError(option, f"{path!r} is not a regular file (a FIFO, socket or device)")
    if info.st_size > max_mb * 2**20:
        raise FileArgumentError(option, f"{path!r} is {info.st_size / 2**20:.0f} MB; the cap is {max_mb:g} MB")
    return Path(path)


@dataclass(frozen=True)
class ArrayHeader:
    """What an ``.npy`` header declares: the array's shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype


def npz_headers(path: Path, option: str) -> dict[str, ArrayHeader]:
    """Array name -> :class:`ArrayHeader` for every member of the ``.npz`` at ``path``, read without
    loading any array data. Refuses a file that is not a zip of ``.npy`` members holding plain arrays
    (numbers, booleans or text: no Python objects, records or bytes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy"): _npy_header(archive, name, option) for name in archive.namelist()}
    except FileArgumentError:
        raise
    except NPZ_READ_ERRORS as err:
        raise FileArgumentError(option, f"cannot read {str(path)!r} as .npz ({_reason(err)})") from None


def _npy_header(archive: zipfile.ZipFile, name: str, option: str) -> ArrayHeader:
    if not name.endswith(".npy"):
        raise FileArgumentError(option, f"member {name!r} of the .npz is not an .npy array")
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with archive.open(name) as member:
        version = np.lib.format.read_magic(member)
        if version not in readers:
            raise ValueError(f"{name}: unsupported .npy format version {version}")
        shape, _, dtype = readers[version](member)
    if dtype.kind not in PLAIN_DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise FileArgumentError(option, f"array {name.removesuffix('.npy')!r} is not a plain array (dtype {dtype})")
    return ArrayHeader(tuple(shape), dtype)


def load_npz(path: Path, option: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` at ``path`` (check sizes with :func:`npz_headers` first)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in names}
    except NPZ_READ_ERRORS as err:
        raise FileArgumentError(option, f"cannot read {str(path)!r} as .npz ({_reason(err)})") from None


def _reason(err: BaseException) -> str:
    """An exception as a short one-line reason."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:200] + "..."
