"""A small budget of benchmarks/fuzz_loader.py: mutated Trials load or raise InputError."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_loader.py"

# CPython 3.11 bug, not the loader's: when a huge BYTEARRAY8 cannot be allocated,
# bytearray's dealloc may print this to sys.stderr (see MANIFEST.json, bytearray8_*).
KNOWN = ("deallocated bytearray object has exported buffers",)


@pytest.fixture(scope="module")
def fuzz_loader():
    spec = importlib.util.spec_from_file_location("fuzz_loader", FUZZ)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("summary", [False, True], ids=["load", "load+summary"])
def test_fuzz_small(fuzz_loader, summary):
    stats = fuzz_loader.fuzz(300, seed=12345, jobs=2, quiet=True, summary=summary)
    assert stats["cases"] == 300
    failures = [f for f in stats["failures"] if not any(k in f[2] for k in KNOWN)]
    assert not failures, failures[:3]
    assert stats["outcomes"].get("loaded", 0) > 0  # the mutations leave some files loadable


@pytest.mark.parametrize("reader", ["json", "bson", "sqlite", "toml"])
def test_fuzz_small_other_readers(fuzz_loader, reader):
    """A few hundred cases of each other reader: InputError or a result, inputs unchanged."""
    cases = 60 if reader == "sqlite" else 200
    stats = fuzz_loader.fuzz(cases, seed=7, jobs=2, quiet=True, reader=reader)
    assert stats["cases"] == cases
    assert not stats["failures"], stats["failures"][:3]
    assert stats["outcomes"].get("InputError", 0) > 0
