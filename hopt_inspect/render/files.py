"""Writing output files atomically: a temp file in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(f)`` on a temporary file next to ``path``, then rename it into place.

    A reader never sees a half-written file; parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _new_file_mode(path: Path) -> int:
    if path.exists():  # the permission bits only: never setuid/setgid/sticky (nor a
        return path.stat().st_mode & 0o777  # symlink target's, which stat() follows)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


MAX_NAME_CHARS = 80


def png_names(labels: list[str], prefix: str = "lpdf-", suffix: str = ".png") -> list[str]:
    """One file name per label: only ``[A-Za-z0-9._-]``, at most ~100 bytes, all distinct.

    A label that had to be changed (``a/b`` and ``a:b`` both become ``a_b``) or shortened
    (a 300-character label made ENAMETOOLONG) gets a short hash of itself appended, so
    two labels never write the same file.
    """
    import hashlib

    names = []
    for label in labels:
        text = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in label)
        text = text.lstrip(".") or "_"
        if text != label or len(text) > MAX_NAME_CHARS:
            digest = hashlib.sha1(label.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            text = f"{text[:MAX_NAME_CHARS]}-{digest}"
        names.append(f"{prefix}{text}{suffix}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # a hash collision, however unlikely: number them
        if name in seen:
            seen[name] += 1
            names[i] = name[: -len(suffix)] + f"-{seen[name]}{suffix}"
        else:
            seen[name] = 0
    return names
