"""numpy scalars and datetimes rebuilt by the C unpickler (``scalar`` is ``dict.__getitem__``
on the DTypeShim, whose dict caches decoded payloads): same values as numpy, still safe."""

from __future__ import annotations

import pickle
import struct
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hopt_inspect.loading import safe_pickle as sp
from hopt_inspect.loading.safe_pickle import DTypeShim, UnsafePickleError, safe_loads


def _loads(obj, protocol=4):
    return safe_loads(pickle.dumps(obj, protocol=protocol)).obj


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_scalars_and_datetimes_equal_what_numpy_and_datetime_pickled(protocol):
    rng = np.random.default_rng(0)
    floats = [np.float64(x) for x in rng.normal(size=50)] + [np.float64(v) for v in (-0.0, 1e300)]
    values = {
        "f8": floats + floats[:5],  # repeats come from the cache
        "f4": [np.float32(1.5), np.float32(-2.25)],
        "i8": [np.int64(t) for t in (0, 7, 7, -(2**62), 2**62)],
        "i4": [np.int32(-5)],
        "u1": [np.uint8(200)],
        "b": [np.bool_(True), np.bool_(False)],
        "big-endian": [np.dtype(">f8").type(2.5)],
        "nan": [np.float64("nan")],
        "times": [datetime(2026, 1, 1) + timedelta(microseconds=k * 999_999) for k in range(5)],
        "aware": [datetime(2026, 1, 1, tzinfo=timezone.utc)],
    }
    loaded = _loads(values, protocol)
    for key, originals in values.items():
        for original, value in zip(originals, loaded[key], strict=True):
            plain = original.item() if isinstance(original, np.generic) else original
            assert type(value) is type(plain), key
            assert value == plain or (value != value and plain != plain), key
            if isinstance(plain, float):  # bit for bit, -0.0 included
                assert struct.pack("<d", value) == struct.pack("<d", plain), key
    assert loaded["f8"][-1] is loaded["f8"][4]  # one shared object per repeated payload


def test_a_dtype_kept_as_a_value_is_empty_after_the_load():
    loaded = _loads({"d": np.dtype("f8"), "x": [np.float64(0.5)] * 3, "y": np.float64(0.25)})
    assert isinstance(loaded["d"], DTypeShim) and len(loaded["d"]) == 0
    assert repr(loaded["d"]) == "dtype('<f8')" and loaded["d"]  # truthy, hashable by identity
    assert {loaded["d"]: 1}[loaded["d"]] == 1


def _dtype_f8() -> bytes:
    state = b"(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    return b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R" + state


def test_the_file_cannot_fill_the_scalar_cache():
    """SETITEMS on the dtype would make scalar(dtype, payload) return the file's choice."""
    half = struct.pack("<d", 0.5)
    data = b"\x80\x02" + _dtype_f8() + b"(C\x08" + half + b"X\x04\x00\x00\x00evilu."
    with pytest.raises(UnsafePickleError, match="fill a numpy dtype"):
        safe_loads(data)


def test_a_forged_scalar_payload_is_still_validated_after_cached_ones():
    scalar = b"cnumpy.core.multiarray\nscalar\nq\x01"  # memo 1: the callable
    ok = b"h\x01h\x00C\x08" + struct.pack("<d", 0.5) + b"\x86R"
    short = b"h\x01h\x00C\x04\x00\x00\x00\x00\x86R"
    head = b"\x80\x02" + _dtype_f8() + b"q\x00" + scalar
    with pytest.raises(UnsafePickleError, match="wrong length"):
        safe_loads(head + b"(" + ok + ok + short + b"l.")
    assert safe_loads(head + b"(" + ok + ok + b"l.").obj == [0.5, 0.5]


def test_scalar_and_datetime_resolve_to_c_callables_that_refuse_build():
    registry = sp._LoadRegistry(strict=False)
    assert registry.resolve("numpy._core.multiarray", "scalar") is dict.__getitem__
    assert registry.resolve("datetime", "datetime") is datetime
    # BUILD on what find_class returned: neither has a __setstate__ or a __dict__ to fill
    for data in (
        b"\x80\x02cnumpy._core.multiarray\nscalar\n}X\x01\x00\x00\x00aK\x01sb.",
        b"\x80\x02cdatetime\ndatetime\n}X\x01\x00\x00\x00aK\x01sb.",
        b"\x80\x02cnumpy\ndtype\n}X\x01\x00\x00\x00aK\x01sb.",
    ):
        with pytest.raises((UnsafePickleError, AttributeError, TypeError)):
            safe_loads(data)
    assert not hasattr(dict.__getitem__, "a") and not hasattr(datetime, "a")
