"""Files: written complete or not at all (with the user's default permissions), and their checksums."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["sha256_file", "write_atomic"]


def _default_mode() -> int:
    """0o666 less the process umask: what ``open(path, "w")`` would give (tempfile gives 0o600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    A reader sees the old file or the new one, never a partial one, and a
    crash leaves at most a hidden ``.<name>.*`` temporary file behind.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    handle = tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=f".{path.name}.")
    try:
        with handle:
            handle.write(payload)
        os.chmod(handle.name, _default_mode())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
