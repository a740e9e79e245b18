"""Output targets, checked before any work, and written so that nothing partial is left.

- ``check_file``/``check_folder``: a one-line ``InputError`` at once for a target that cannot
  be written (an existing folder where a file is wanted, a file where a folder is wanted, a
  wrong suffix, a read-only or missing-and-uncreatable parent).
- ``staged_folder``: multi-file outputs are written into a temporary folder beside the target
  and moved into place at the end; an interrupt or an error removes the temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


def _existing_ancestor(path: Path) -> Path:
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _writable_folder(folder: Path, option: str, target: Path) -> None:
    if not folder.is_dir():
        raise InputError(f"{option} {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {target}: cannot write in {folder} (permission denied)")


def check_file(path: Path, *, suffixes: Sequence[str] = (), option: str = "-o") -> Path:
    """``path`` can be written as a file (its missing parents will be created)."""
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; name a file")
    if path.exists() and not path.is_file():  # a device, FIFO or socket (or a link to one)
        raise InputError(
            f"{option} {path}: not a regular file (a device or pipe would be replaced);"
            " leave out -o to write to stdout"
        )
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{option} {path}: the file is written as {' or '.join(suffixes)}")
    _writable_folder(_existing_ancestor(path), option, path)
    return path


def check_not_input(path: Path, inputs: Sequence[str | Path | None], option: str = "-o") -> None:
    """``path`` is none of the files the command reads (the trials file, a ``--space``
    script or spec, given as ``FILE.py:NAME`` too): nothing the tool reads is modified."""
    if not path.exists():
        return
    for given in inputs:
        if not given:
            continue
        text = str(given)
        for candidate in {text, text.rsplit(":", 1)[0]}:
            try:
                same = Path(candidate).is_file() and os.path.samefile(path, candidate)
            except OSError:
                same = False
            if same:
                raise InputError(
                    f"{option} {path}: is the input {candidate}; the tool never overwrites"
                    " what it reads: name another file"
                )


def check_folder(path: Path, *, option: str = "-o", why: str = "") -> Path:
    """``path`` is, or can become, a folder we can write into."""
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{option} {path}: exists and is not a folder" + (f" ({why})" if why else "")
        )
    if path.is_dir():
        _writable_folder(path, option, path)
    else:
        _writable_folder(_existing_ancestor(path), option, path)
    return path


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A temporary folder whose files are moved into ``target`` when the block succeeds.

    Each file lands with an atomic rename; on any exception (Ctrl-C included) the temporary
    folder is removed and ``target`` is left as it was.
    """
    anchor = target if target.is_dir() else _existing_ancestor(target)
    stage = Path(tempfile.mkdtemp(prefix=".hopt-inspect-", dir=anchor))
    try:
        yield stage
        target.mkdir(parents=True, exist_ok=True)
        items = sorted(stage.iterdir())
        clash = [i.name for i in items if (target / i.name).is_dir()]
        if clash:  # checked before anything moves: all of the output lands, or none
            raise InputError(
                f"-o {target}: {clash[0]} there is a folder; remove it or choose another -o"
            )
        for item in items:
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def final_path(stage: Path, target: Path, written: str) -> str:
    """Where a file written into the stage ends up."""
    return str(target / Path(written).relative_to(stage))
