"""A restricted unpickler: an exact allow-list, local stand-ins and inert placeholders.

``find_class`` looks names up in a static table and never imports anything. What a
hyperopt Trials file needs is in the table (datetime values, numpy scalars and arrays
rebuilt from validated bytes, ``hyperopt.base.Trials`` as a stand-in that only keeps its
pickled state). Every other name becomes a placeholder class that records what the file
asked for and runs nothing. See ../shared/SAFE_LOADING.md for the reasons behind each rule.
"""

from __future__ import annotations

import contextlib
import copyreg
import datetime
import io
import math
import pickle
import re
import struct
import sys
import threading
import types
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, ClassVar

from .leanstream import LeanReader

MAX_PLACEHOLDER_NAMES = 1000
MAX_BYTES_ARG = 1 << 30  # bytes(...) / bytearray(...) / _codecs.encode payloads
MAX_ARRAY_BYTES = 1 << 30
MAX_SHARED_SCALARS = 4096  # distinct numpy scalar values shared per dtype (then restarted)

# Python 2 module names as they appear, raw, in old pickles.
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg", "exceptions": "builtins"}


class UnsafePickleError(Exception):
    """The file asks for something the safe loader will not do."""


class BlockedGlobalError(UnsafePickleError):
    """``--strict`` refused a name that is not on the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


# --------------------------------------------------------------------------- stand-ins


class TrialsStandIn:
    """Holds the pickled ``__dict__`` of a ``hyperopt.base.Trials`` (or subclass).

    No hyperopt code runs: the state is kept as the plain dict pickle gave us.
    """

    __slots__ = ("state",)
    class_name: ClassVar[str] = "hyperopt.base.Trials"

    def __setstate__(self, state: Any) -> None:
        """What pickle's BUILD does to a plain object, on a dict we keep.

        ``state`` is a dict, or ``(dict or None, slot dict or None)``: the dict updates the
        instance ``__dict__`` and each slot item is set as an attribute (which, for a class
        without slots such as Trials, also lands in ``__dict__``). A second BUILD updates
        the same ``__dict__`` again. Anything else makes pickle itself fail: refused.
        """
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if not isinstance(state, (dict, type(None))) or not isinstance(
            slotstate, (dict, type(None))
        ):
            raise UnsafePickleError("the Trials object's pickled state is not a dict")
        merged = dict(getattr(self, "state", None) or {})
        for part in (state, slotstate):
            for key, value in (part or {}).items():
                if not isinstance(key, str):
                    raise UnsafePickleError("the Trials object's state has a key that is not text")
                merged[key] = value
        self.state = merged

    def __repr__(self) -> str:
        return f"<{self.class_name}>"


class ObjectIdStandIn:
    """A ``bson.objectid.ObjectId`` kept as its hex string."""

    __slots__ = ("hex",)

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, str):
            state = state.encode("latin1")
        if not isinstance(state, bytes) or len(state) != 12:
            raise UnsafePickleError("malformed bson ObjectId")
        self.hex = state.hex()

    def __str__(self) -> str:
        return getattr(self, "hex", "")

    def __repr__(self) -> str:
        return f"ObjectId('{getattr(self, 'hex', '')}')"


class SONStandIn(dict):
    """``bson.son.SON`` is an ordered dict; a plain dict keeps insertion order."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:  # SON pickles its items as state
        if isinstance(state, dict):
            self.update(state)


class ApplyStandIn:
    """A pyll ``Apply`` node of a pickled hp graph, as plain data (no hyperopt code runs).

    Keeps only ``name``, ``pos_args`` and ``named_args`` (and ``_obj`` for a ``Literal``),
    type-checked; ``hpgraph.space_from_graph`` turns such a graph into a SearchSpace.
    """

    __slots__ = ("_obj", "name", "named_args", "pos_args")

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = state[0] if isinstance(state[0], dict) else state[1]
        if not isinstance(state, dict):
            raise UnsafePickleError("malformed pyll node state")
        name = state.get("name")
        pos_args = state.get("pos_args", [])
        named_args = state.get("named_args", [])
        if not isinstance(name, str) or not isinstance(pos_args, (list, tuple)):
            raise UnsafePickleError("malformed pyll node state")
        if not isinstance(named_args, (list, tuple)):
            raise UnsafePickleError("malformed pyll node state")
        self.name = name[:200]
        self.pos_args = list(pos_args)
        self.named_args = list(named_args)
        self._obj = state.get("_obj")

    def __repr__(self) -> str:
        return f"<pyll {getattr(self, 'name', '?')}>"


class OrderedDictStandIn(OrderedDict):
    """``collections.OrderedDict`` whose instance attributes are dropped, not set.

    A BUILD on an OrderedDict sets instance attributes; one named ``keys``, ``get`` or
    ``items`` would shadow the mapping's methods for our code, while hyperopt reads the
    document through ``__getitem__``, which attributes cannot shadow. The items are kept.
    """

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        pass


class Placeholder:
    """An object of a class the file named and we did not load.

    Records constructor arguments, state and items; executes nothing. Each load makes
    its own subclasses (one per name), so nothing is shared between loads.
    """

    __slots__ = ("args", "items", "kwargs", "listitems", "state")
    qualname: ClassVar[str] = "?"
    counter: ClassVar[Counter[str]]
    factory: ClassVar[Any]  # the load's placeholder_class, for placeholders made by calls

    def __new__(cls, *args: Any, **kwargs: Any) -> Placeholder:
        if not (isinstance(cls, type) and issubclass(cls, Placeholder)) or cls is Placeholder:
            raise UnsafePickleError("placeholder misuse")
        self = object.__new__(cls)
        self.args = args
        self.kwargs = kwargs
        self.state = None
        self.items = []
        self.listitems = []
        cls.counter[cls.qualname] += 1
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Placeholder:
        """Calling a placeholder (cloudpickle calls factories it rebuilt) makes another one."""
        return type(self).factory(_made_name(self))(*args, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items.append((key, value))

    def append(self, value: Any) -> None:
        self.listitems.append(value)

    def extend(self, values: Any) -> None:
        self.listitems.extend(values)

    def __repr__(self) -> str:
        return f"<{self.qualname}>"


def _made_name(made_by: Any) -> str:
    """A name for what a placeholder call produced; cloudpickle's classes by their own name."""
    qualname = getattr(type(made_by), "qualname", type(made_by).__name__)
    args = getattr(made_by, "args", ())
    if qualname.endswith("_make_skeleton_class") and len(args) > 1 and isinstance(args[1], str):
        return f"{args[1][:100]} (a class cloudpickled by value)"
    return f"{qualname}()"


# --------------------------------------------------------------------------- numpy shims

_DTYPE_CODE = re.compile(r"^([<>|=]?)([a-zA-Z])(\d*)(\[[a-zA-Z]{1,3}\])?$")
_NUMERIC_STRUCT = {
    ("f", 2): "e",
    ("f", 4): "f",
    ("f", 8): "d",
    ("i", 1): "b",
    ("i", 2): "h",
    ("i", 4): "i",
    ("i", 8): "q",
    ("u", 1): "B",
    ("u", 2): "H",
    ("u", 4): "I",
    ("u", 8): "Q",
    ("b", 1): "?",
    ("c", 8): "ff",
    ("c", 16): "dd",
}
_NUMPY_TYPE_LETTERS = {"d": ("f", 8), "l": ("i", 8), "q": ("i", 8), "?": ("b", 1)}


class DTypeShim(dict):
    """A validated description of a numpy dtype: kind, item size, byte order, unit.

    Never a real ``numpy.dtype``: pickle state is never passed to numpy (forged dtype
    state can crash numpy). Only plain, fixed-size kinds are accepted.

    The dict is the scalars' cache: payload bytes -> the Python number they stand for.
    ``numpy...scalar`` resolves to ``dict.__getitem__``, so the C unpickler rebuilds a
    scalar seen before (fmin's idxs hold the tid once per parameter; quantised values
    repeat) without a Python call; a new payload reaches ``__missing__``, which validates
    it as before. Only this class fills the dict: the file cannot (``__setitem__``
    refuses SETITEMS), and the loader empties it when the load ends.
    """

    __slots__ = ("_unpack", "byteorder", "itemsize", "kind", "unit")
    __hash__ = object.__hash__  # by identity, as before it was a dict
    __eq__ = object.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return True

    def __init__(self, obj: Any, align: Any = False, copy: Any = True) -> None:
        self._unpack = None
        if not isinstance(obj, str):
            raise UnsafePickleError("numpy dtype from a non-string")
        m = _DTYPE_CODE.match(obj)
        if not m:
            raise UnsafePickleError(f"numpy dtype {obj[:20]!r} is not a plain type")
        order, kind, size, unit = m.groups()
        if kind in _NUMPY_TYPE_LETTERS and not size:
            kind, itemsize = _NUMPY_TYPE_LETTERS[kind]
        else:
            itemsize = int(size) if size else 0
        if kind not in "fiubcUSMm":
            raise UnsafePickleError(f"numpy dtype kind {kind!r} is not allowed")
        self.kind = kind
        self.itemsize = itemsize
        self.byteorder = order or "="
        self.unit = unit or ""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise UnsafePickleError("malformed numpy dtype state")
        _version, byteorder, subdescr, names, fields, elsize = state[:6]
        if subdescr is not None or names is not None or fields is not None:
            raise UnsafePickleError("structured numpy dtypes are not allowed")
        if byteorder not in ("<", ">", "|", "="):
            raise UnsafePickleError("malformed numpy dtype byte order")
        self.byteorder = byteorder
        if self.kind in "US" and isinstance(elsize, int) and 0 < elsize <= MAX_BYTES_ARG:
            self.itemsize = elsize
        self._validate()
        fmt = _NUMERIC_STRUCT.get((self.kind, self.itemsize))
        # The fast path for scalars: fmin stores millions of float64 / int64 values.
        self._unpack = struct.Struct(self.endian + fmt).unpack if fmt and len(fmt) == 1 else None
        dict.clear(self)  # values decoded under an earlier state are not this state's

    def __missing__(self, payload: Any) -> Any:
        """A scalar not seen before: validated and decoded; numbers are then shared
        (payload -> value, so equal scalars become one Python object)."""
        unpack = self._unpack  # set once the state was validated: a one-value number
        if unpack is None or type(payload) is not bytes or len(payload) != self.itemsize:
            return _numpy_scalar(self, payload)  # validates it, or refuses
        value = unpack(payload)[0]
        if len(self) >= MAX_SHARED_SCALARS:
            dict.clear(self)
        dict.__setitem__(self, payload, value)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        raise UnsafePickleError("the file tries to fill a numpy dtype with items")

    def _validate(self) -> None:
        k, n = self.kind, self.itemsize
        ok = (
            (k, n) in _NUMERIC_STRUCT
            or (k in "Mm" and n == 8)
            or (k == "U" and n > 0 and n % 4 == 0)
            or (k == "S" and n > 0)
        )
        if not ok:
            raise UnsafePickleError(f"numpy dtype {k}{n} is not allowed")

    @property
    def endian(self) -> str:
        return ">" if self.byteorder == ">" else "<"

    def numpy_str(self) -> str:
        self._validate()
        n = self.itemsize // 4 if self.kind == "U" else self.itemsize
        order = "|" if self.kind in "bS" or self.itemsize == 1 else self.endian
        return f"{order}{self.kind}{n}{self.unit}"

    def __repr__(self) -> str:
        try:
            return f"dtype('{self.numpy_str()}')"
        except UnsafePickleError:
            return "dtype(<invalid>)"


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, str):  # Python 2 str payloads arrive decoded as latin1
        return data.encode("latin1")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, pickle.PickleBuffer):
        return bytes(data.raw())
    raise UnsafePickleError("expected a byte payload")


def _numpy_scalar(dtype: Any, payload: Any = None) -> Any:
    """``numpy.core.multiarray.scalar``: a plain Python value from validated bytes.

    Reached through ``DTypeShim.__missing__`` (the allow-list maps ``scalar`` to
    ``dict.__getitem__``), once per distinct payload.
    """
    if (
        type(payload) is bytes
        and getattr(dtype, "_unpack", None) is not None  # validated, a one-value format
        and len(payload) == dtype.itemsize
    ):
        return dtype._unpack(payload)[0]
    if not isinstance(dtype, DTypeShim):
        raise UnsafePickleError("numpy scalar without a plain dtype")
    if payload is None:
        raise UnsafePickleError("numpy object scalars are not allowed")
    raw = _as_bytes(payload)
    dtype._validate()
    if len(raw) != dtype.itemsize:
        raise UnsafePickleError("numpy scalar payload has the wrong length")
    fmt = _NUMERIC_STRUCT.get((dtype.kind, dtype.itemsize))
    if fmt is not None:
        values = struct.unpack(dtype.endian + fmt, raw)
        if dtype.kind == "c":
            return complex(*values)
        return values[0]
    if dtype.kind == "U":
        return raw.decode("utf-32-be" if dtype.byteorder == ">" else "utf-32-le").rstrip("\0")
    if dtype.kind == "S":
        return raw.rstrip(b"\0")
    np = _numpy()  # datetime64 / timedelta64 only

    return np.frombuffer(raw, dtype=np.dtype(dtype.numpy_str()))[0]


def _numpy() -> Any:
    """numpy, imported outside the load's address-space cap if it is not imported yet.

    Imported under a small cap, OpenBLAS fails to allocate its buffers and calls exit(1)
    (``--max-memory 48M``). The import runs our installed code, not the file's, so it is
    not the file's memory to count.
    """
    if "numpy" not in sys.modules:
        with _uncapped():
            import numpy  # noqa: F401
    return sys.modules["numpy"]


def _refuse_build(*_args: Any) -> None:
    raise UnsafePickleError("the file tries to modify a class or function of the loader")


class NDArrayMarker:
    """What ``numpy.ndarray`` resolves to: only a tag for ``_reconstruct``."""

    __slots__ = ()
    __setstate__ = staticmethod(_refuse_build)


class ArrayBox:
    """A numpy array being rebuilt from BUILD state; ``value`` holds the result."""

    __slots__ = ("value",)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafePickleError("malformed numpy array state")
        _version, shape, dtype, fortran, data = state
        if isinstance(data, list):  # object arrays pickle their items as a list
            self.value = list(data)
            return
        self.value = _build_array(data, dtype, shape, "F" if fortran else "C")


def _build_array(data: Any, dtype: Any, shape: Any, order: Any) -> Any:
    if not isinstance(dtype, DTypeShim):
        raise UnsafePickleError("numpy array without a plain dtype")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise UnsafePickleError("malformed numpy array shape")
    if len(shape) > 32:
        raise UnsafePickleError("numpy array has too many dimensions")
    raw = _as_bytes(data)
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw) or len(raw) > MAX_ARRAY_BYTES:
        raise UnsafePickleError("numpy array payload does not match its shape")
    np = _numpy()

    arr = np.frombuffer(raw, dtype=np.dtype(dtype.numpy_str()))
    return arr.reshape(shape, order="F" if order == "F" else "C").copy()


def _numpy_reconstruct(subtype: Any, shape: Any = None, typecode: Any = None) -> ArrayBox:
    if subtype is not NDArrayMarker:
        raise UnsafePickleError("numpy _reconstruct of something other than ndarray")
    box = object.__new__(ArrayBox)
    box.value = None
    return box


def _numpy_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
    return _build_array(buf, dtype, tuple(shape), order)


# --------------------------------------------------------------------------- other shims


# The codecs pickle protocols 0-2 use to spell bytes (``_codecs.encode(s, 'latin1')``,
# ``bytes(s, 'latin-1')``): all linear. Any other codec name is refused: some are
# quadratic (punycode took minutes on 88 KB) and some are not text codecs at all.
_BYTE_CODECS = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "ascii", "utf-8", "utf8"}


def _codec(encoding: Any) -> str:
    if not isinstance(encoding, str) or encoding.lower() not in _BYTE_CODECS:
        raise UnsafePickleError(f"the codec {str(encoding)[:30]!r} is not one pickle uses")
    return encoding.lower()


def _codecs_encode(obj: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    """How protocol <= 2 spells bytes: ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(obj, str):
        raise UnsafePickleError("_codecs.encode with unexpected arguments")
    codec = _codec(encoding)
    if len(obj) > MAX_BYTES_ARG:
        raise UnsafePickleError("byte string too large")
    return obj.encode(codec, "strict")


def _bytes_like(kind: type) -> Any:
    def make(*args: Any) -> Any:
        if not args:
            return kind()
        if len(args) > 2 or not isinstance(args[0], (str, bytes, bytearray, list)):
            raise UnsafePickleError(f"{kind.__name__}() with unexpected arguments")
        if len(args[0]) > MAX_BYTES_ARG:
            raise UnsafePickleError("byte string too large")
        if isinstance(args[0], str):
            return kind(args[0].encode(_codec(args[1] if len(args) == 2 else "latin1")))
        if len(args) == 2:
            raise UnsafePickleError(f"{kind.__name__}() with unexpected arguments")
        if isinstance(args[0], list) and not all(type(b) is int and 0 <= b < 256 for b in args[0]):
            raise UnsafePickleError(f"{kind.__name__}() of a list that is not bytes")
        return kind(args[0])

    return make


def _reconstructor(cls: Any, base: Any, state: Any = None) -> Any:
    """``copyreg._reconstructor`` (protocols 0 and 1), only for our own classes."""
    if isinstance(cls, type) and issubclass(cls, Placeholder) and cls is not Placeholder:
        obj = cls()
        if state is not None:
            obj.state = state
        return obj
    if isinstance(cls, type) and issubclass(cls, (TrialsStandIn, ObjectIdStandIn, ApplyStandIn)):
        if base is not object or state is not None:
            raise UnsafePickleError("copyreg._reconstructor with unexpected arguments")
        return object.__new__(cls)
    raise UnsafePickleError("copyreg._reconstructor of a class that is not allowed")


# dill's type table: ``dill._dill._load_type(name)`` (``dill.dill`` before dill 0.2.8) names
# a builtin type, e.g. how dill writes ``set`` below protocol 4 and ``object`` on Python 2.
# Only the plain data types are allowed; any other name (functions, code, modules, ...)
# becomes a placeholder like any unknown global (``--strict`` refuses it).
_DILL_TYPES: dict[str, Any] = {
    "set": set, "SetType": set, "frozenset": frozenset, "FrozenSetType": frozenset,
    "list": list, "ListType": list, "tuple": tuple, "TupleType": tuple,
    "dict": dict, "DictType": dict, "DictionaryType": dict,
    "int": int, "IntType": int, "LongType": int, "float": float, "FloatType": float,
    "complex": complex, "ComplexType": complex, "bool": bool, "BooleanType": bool,
    "str": str, "StringType": str, "UnicodeType": str,
    "bytes": _bytes_like(bytes), "bytearray": _bytes_like(bytearray),
    "NoneType": type(None), "object": object, "ObjectType": object,
    "slice": slice, "SliceType": slice,
}  # fmt: skip


def _dill_load_type(name: Any) -> Any:
    """Stands for dill's ``_load_type`` in the table; each load resolves it to
    ``_LoadRegistry.dill_load_type`` (which knows the load's placeholders)."""
    raise UnsafePickleError("dill _load_type outside a load")


# The allow-list: exact (module, name) pairs and what they resolve to.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("builtins", "object"): object,
    ("builtins", "bytes"): _bytes_like(bytes),
    ("builtins", "bytearray"): _bytes_like(bytearray),
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("collections", "OrderedDict"): OrderedDictStandIn,
    ("datetime", "datetime"): datetime.datetime,  # C: validates its payload, runs nothing
    ("datetime", "date"): datetime.date,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("numpy", "dtype"): DTypeShim,
    ("numpy", "ndarray"): NDArrayMarker,
    # scalar(dtype, payload) is dtype[payload]: the DTypeShim's cache, see DTypeShim
    ("numpy.core.multiarray", "scalar"): dict.__getitem__,
    ("numpy._core.multiarray", "scalar"): dict.__getitem__,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("bson.objectid", "ObjectId"): ObjectIdStandIn,
    ("bson.son", "SON"): SONStandIn,
    ("hyperopt.pyll.base", "Apply"): ApplyStandIn,  # hp graphs: plain data, see hpgraph
    ("hyperopt.pyll.base", "Literal"): ApplyStandIn,
    ("dill._dill", "_load_type"): _dill_load_type,
    ("dill.dill", "_load_type"): _dill_load_type,
}

# BUILD looks up __setstate__ on the object first: functions find this one and refuse
# (dill's table holds functions too: ``_load_type('bytes')``).
for _shim in (*_ALLOWED.values(), *_DILL_TYPES.values()):
    if isinstance(_shim, types.FunctionType):
        _shim.__setstate__ = _refuse_build  # type: ignore[attr-defined]

_TRIALS_MODULES = ("hyperopt.base", "hyperopt.mongoexp", "hyperopt.spark", "hyperopt")


class _LoadRegistry:
    """Per-load state: placeholder classes and counts, Trials stand-in classes."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.placeholder_classes: dict[str, type[Placeholder]] = {}
        self.placeholder_counts: Counter[str] = Counter()
        self.trials_classes: dict[str, type[TrialsStandIn]] = {}
        self.globals_seen: set[str] = set()
        self.array_boxes = 0
        self.dtypes: list[DTypeShim] = []

    def dtype(self, *args: Any, **kwargs: Any) -> DTypeShim:
        """``numpy.dtype``: a DTypeShim, remembered so its scalar cache is emptied after."""
        shim = DTypeShim(*args, **kwargs)
        self.dtypes.append(shim)
        return shim

    def done(self) -> None:
        """The load is over: the dtypes' scalar caches go (they hold only shared values)."""
        for shim in self.dtypes:
            dict.clear(shim)
        self.dtypes = []

    def reconstruct(self, *args: Any) -> ArrayBox:
        self.array_boxes += 1
        return _numpy_reconstruct(*args)

    def resolve(self, module: str, name: str) -> Any:
        """``find_class``: a static table lookup that never imports."""
        module = _PY2_MODULES.get(module, module)
        qualname = f"{module}.{name}"
        self.globals_seen.add(qualname)
        found = _ALLOWED.get((module, name))
        if found is _numpy_reconstruct:
            return self.reconstruct  # counts the arrays to unbox after loading
        if found is DTypeShim:
            return self.dtype
        if found is _dill_load_type:
            return self.dill_load_type
        if found is not None:
            return found
        if module in _TRIALS_MODULES and name.endswith("Trials") and name.isidentifier():
            return self.trials_class(qualname)
        if self.strict:
            raise BlockedGlobalError(module, name)
        return self.placeholder_class(qualname[:200])

    def dill_load_type(self, name: Any) -> Any:
        """dill's ``_load_type(name)``: a plain data type from the table, else a placeholder."""
        found = _DILL_TYPES.get(name) if isinstance(name, str) else None
        if found is not None:
            return found
        shown = f"dill._dill._load_type({str(name)[:60]!r})"
        if self.strict:
            raise BlockedGlobalError("dill._dill", f"_load_type({str(name)[:60]!r})")
        return self.placeholder_class(shown)

    def trials_class(self, qualname: str) -> type[TrialsStandIn]:
        cls = self.trials_classes.get(qualname)
        if cls is None:
            cls = type("TrialsStandIn", (TrialsStandIn,), {"__slots__": (), "class_name": qualname})
            self.trials_classes[qualname] = cls
        return cls

    def placeholder_class(self, qualname: str) -> type[Placeholder]:
        cls = self.placeholder_classes.get(qualname)
        if cls is None:
            if len(self.placeholder_classes) >= MAX_PLACEHOLDER_NAMES:
                raise UnsafePickleError(f"the file names more than {MAX_PLACEHOLDER_NAMES} classes")
            attrs = {
                "__slots__": (),
                "qualname": qualname,
                "counter": self.placeholder_counts,
                "factory": self.placeholder_class,
            }
            cls = type(qualname.rsplit(".", 1)[-1][:100], (Placeholder,), attrs)
            self.placeholder_classes[qualname] = cls
        return cls


# ``find_class`` hands out this bound method for ``_reconstruct``. BUILD on a bound method
# reaches its function's ``__dict__``, shared by every later load in the process: refuse it.
_LoadRegistry.reconstruct.__setstate__ = _refuse_build  # type: ignore[attr-defined]
_LoadRegistry.dtype.__setstate__ = _refuse_build  # type: ignore[attr-defined]
_LoadRegistry.dill_load_type.__setstate__ = _refuse_build  # type: ignore[attr-defined]


class SafeUnpickler(pickle.Unpickler):
    """The C unpickler with ``find_class`` replaced by a static table lookup."""

    def __init__(self, file: io.BufferedIOBase, registry: _LoadRegistry) -> None:
        super().__init__(file, encoding="latin1", errors="strict")
        self._registry = registry

    def find_class(self, module: str, name: str) -> Any:  # never imports
        return self._registry.resolve(module, name)


class FallbackUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """The pure-Python unpickler, same table, for cloudpickle's by-value classes.

    cloudpickle rebuilds a class defined in ``__main__`` by calling a factory and then
    NEWOBJ on the result; with placeholders the result is not a type, which the C loop
    refuses. Here NEWOBJ on a non-type makes one more placeholder instead. Slower; used
    only when the C unpickler fails on such a file.
    """

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: io.BufferedIOBase, registry: _LoadRegistry) -> None:
        super().__init__(file, encoding="latin1", errors="strict")
        self._registry = registry

    def find_class(self, module: str, name: str) -> Any:
        return self._registry.resolve(module, name)

    def _new(self, cls: Any, args: Any, kwargs: Any) -> Any:
        if isinstance(cls, type) and not issubclass(cls, Placeholder):
            return cls.__new__(cls, *args, **kwargs)
        if isinstance(cls, type):
            return cls(*args, **kwargs)
        return self._registry.placeholder_class(_made_name(cls))(*args, **kwargs)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._new(cls, args, {}))

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._new(cls, args, kwargs))

    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex


class LoadedPickle:
    """What came out of the file, and what the loader noticed on the way."""

    def __init__(
        self,
        obj: Any,
        registry: _LoadRegistry | None,
        trailing_bytes: int,
    ) -> None:
        self.obj = obj
        self.placeholder_counts: dict[str, int] = {}
        self.globals_seen: set[str] = set()
        self.array_boxes = 0
        if registry is not None:
            counts = dict(registry.placeholder_counts)
            for qualname in registry.placeholder_classes:
                counts.setdefault(qualname, 0)
            self.placeholder_counts = counts
            self.globals_seen = registry.globals_seen
            self.array_boxes = registry.array_boxes
        self.trailing_bytes = trailing_bytes


def safe_loads(
    data: bytes | Path, *, strict: bool = False, max_memory: int | None = None
) -> LoadedPickle:
    """Unpickle ``data`` (bytes, or a file to stream) without running what the file names."""
    if copyreg._extension_cache or copyreg._inverted_registry:  # type: ignore[attr-defined]
        # EXT opcodes resolve through this process-wide cache, bypassing find_class.
        raise UnsafePickleError("the copyreg extension registry is not empty in this process")
    size = len(data) if isinstance(data, (bytes, bytearray)) else data.stat().st_size
    # numpy, when an array comes, is imported by _numpy() with the cap lifted: no scan of
    # the whole file for array opcodes first (0.1 s for a 120 MB file)
    _install_tripwire()
    budget = max_memory or max(MIN_LOAD_BUDGET, LOAD_BUDGET_FACTOR * size)
    registry = _LoadRegistry(strict)
    try:
        with _open_lean(data) as stream, _address_space_budget(budget), _guarded(), _quiet():
            obj = SafeUnpickler(stream, registry).load()
            end = stream.tell()
    except (TypeError, pickle.UnpicklingError) as exc:
        registry.done()
        if not registry.placeholder_classes or not _BY_VALUE.search(str(exc)):
            raise
        # cloudpickle by-value classes: the same table, in the pure-Python loop.
        registry = _LoadRegistry(strict)
        try:
            # as it is: this loop reads an opcode at a time, each read a Python call through
            # the rewriting reader (helper a19: a 19 MB protocol-3 file 3.4x slower)
            with _open(data) as stream, _address_space_budget(budget), _guarded(), _quiet():
                obj = FallbackUnpickler(stream, registry).load()
                end = stream.tell()
        finally:
            registry.done()
    except BaseException:
        registry.done()
        raise
    registry.done()
    return LoadedPickle(obj, registry, size - end)


def _quiet() -> Any:
    """CPython can print a second error while unwinding a failed huge allocation
    ("deallocated bytearray object has exported buffers"); the user gets our one line."""
    return contextlib.redirect_stderr(io.StringIO())


def _open(data: bytes | Path) -> Any:
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else open(data, "rb")


LEAN_MIN_BYTES = 4 << 20  # smaller files are read as they are (nothing to gain; numpy unneeded)


def _open_lean(data: bytes | Path) -> Any:
    """``data`` to unpickle; from 4 MiB, rewritten so that the unpickler's memo keeps no
    garbage (``leanstream.py``: at 200k trials the load's peak 1,423 -> 911 MiB)."""
    size = len(data) if isinstance(data, (bytes, bytearray)) else data.stat().st_size
    # decompressed bytes read in place, not copied; a file buffered: read() and readinto() fill up
    stream = _open(data)
    return stream if size < LEAN_MIN_BYTES else LeanReader(stream)


_BY_VALUE = re.compile(r"NEWOBJ|not callable|must be a type")
_GUARD = threading.local()
_TRIPWIRE: list[bool] = []  # process-wide: audit hooks cannot be removed once added


def _tripwire(event: str, args: tuple[Any, ...]) -> None:
    if event == "pickle.find_class" and getattr(_GUARD, "active", False):
        raise UnsafePickleError(
            f"an unrestricted unpickling of {args[0]}.{args[1]} was attempted during a safe load"
        )


def _install_tripwire() -> None:
    """An audit hook: any default ``find_class`` while a safe load runs is refused.

    Our own ``find_class`` raises no audit event, so an event means some code path is
    unpickling without the allow-list (a nested ``pickle.loads``): stop it.
    """
    if not _TRIPWIRE:
        sys.addaudithook(_tripwire)
        _TRIPWIRE.append(True)


@contextlib.contextmanager
def _guarded():
    _GUARD.active = True
    try:
        yield
    finally:
        _GUARD.active = False


MIN_LOAD_BUDGET = 256 << 20
LOAD_BUDGET_FACTOR = 64


_LIMITS_BEFORE_CAP: list[tuple[int, int]] = []  # set while _address_space_budget is active


@contextlib.contextmanager
def _uncapped():
    """Lift the load's address-space cap for a moment (to import a module of ours)."""
    if not _LIMITS_BEFORE_CAP:
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    before = _mapped_bytes()
    resource.setrlimit(resource.RLIMIT_AS, _LIMITS_BEFORE_CAP[-1])
    try:
        yield
    finally:
        # What the import mapped (numpy with OpenBLAS: ~120 MiB) is not the file's to
        # count: the cap moves up by it, else the file's budget shrank by that much.
        grown = max(0, _mapped_bytes() - before)
        if soft != resource.RLIM_INFINITY:
            soft += grown
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _mapped_bytes() -> int:
    """The process's address space now (Linux: /proc/self/statm)."""
    import resource

    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def _address_space_budget(nbytes: int):
    """Cap the address space at what is mapped now + nbytes (Linux); MemoryError beyond."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError):
        yield
        return
    limit = mapped + nbytes
    for cap in (soft, hard):
        if cap != resource.RLIM_INFINITY:
            limit = min(limit, cap)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    _LIMITS_BEFORE_CAP.append((soft, hard))
    try:
        yield
    finally:
        _LIMITS_BEFORE_CAP.pop()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def trusted_loads(data: bytes | Path) -> LoadedPickle:
    """Plain ``pickle.load``: runs code from the file. Only behind ``--trust``."""
    size = len(data) if isinstance(data, (bytes, bytearray)) else data.stat().st_size
    with _open(data) as stream:
        obj = pickle.Unpickler(stream, encoding="latin1").load()
        end = stream.tell()
    return LoadedPickle(obj, None, size - end)
