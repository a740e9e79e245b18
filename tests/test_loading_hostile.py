"""Hostile pickles: nothing in them runs, and every failure is one clean line.

Every pickle here is assembled by hand from opcodes (or, for the Trials case, written by a
pure-Python pickler that emits chosen GLOBAL names); nothing dangerous is imported to build
them. Each payload would ``touch`` a marker file if it ran. A few payloads are run with plain
``pickle.loads`` in a child process as a positive control, to prove the marker check means
something.

Every case here once found a bug or guards against one (two-line errors from CPython's own
messages, unescaped control characters, memo-index memory blow-ups, BUILD on allowed shims).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import resource
import struct
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study
from hopt_inspect.loading import safe_pickle as sp

# --------------------------------------------------------------------------- opcodes


def v0(text: str) -> bytes:
    """Protocol 0 UNICODE (raw-unicode-escape, newline-terminated)."""
    assert "\n" not in text and "\\" not in text
    return b"V" + text.encode("raw_unicode_escape") + b"\n"


def bu(text: str) -> bytes:
    """BINUNICODE (protocol 1+)."""
    b = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(b)) + b


def sbu(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4)."""
    b = text.encode("utf-8", "surrogatepass")
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def by(data: bytes) -> bytes:
    """SHORT_BINBYTES / BINBYTES (protocol 3)."""
    if len(data) < 256:
        return b"C" + bytes([len(data)]) + data
    return b"B" + struct.pack("<I", len(data)) + data


def pint(n: int) -> bytes:
    """BININT1 / BININT / LONG1."""
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def g0(module: str, name: str) -> bytes:
    """GLOBAL (protocols 0-3 spell names this way)."""
    return b"c" + f"{module}\n{name}\n".encode("utf-8", "surrogatepass")


def sg(module: str, name: str) -> bytes:
    """STACK_GLOBAL (protocol 4+)."""
    return sbu(module) + sbu(name) + b"\x93"


def header(protocol: int) -> bytes:
    return b"\x80" + bytes([protocol]) if protocol >= 2 else b""


def wrap(payload: bytes, *, protocol: int = 0, loss: bytes = b"F1.0\n", tid: bytes = b"I0\n"):
    """A list of one valid trial document whose result['payload'] is ``payload``.

    Only protocol 0 opcodes in the wrapper, so any protocol header works around it.
    """
    return (
        header(protocol)
        + b"(l(dVresult\n(dVloss\n"
        + loss
        + b"sVstatus\nVok\nsVpayload\n"
        + payload
        + b"ssVmisc\n(dVtid\n"
        + tid
        + b"sVvals\n(dssa."
    )


def bare(payload: bytes, protocol: int = 0) -> bytes:
    """A pickle whose top-level object is ``payload``."""
    return header(protocol) + payload + b"."


def touch(marker: Path) -> str:
    return f"touch {marker}"


def pycode(marker: Path) -> str:
    return f"__import__('os').system('touch {marker}')"


def dtype(code: str, state: bytes | None = None) -> bytes:
    """numpy.dtype(code, False, True) [+ BUILD state], the way numpy pickles a dtype."""
    if state is None:
        state = b"(" + pint(3) + bu("<") + b"NNN" + pint(-1) + pint(-1) + pint(0) + b"t"
    return g0("numpy", "dtype") + bu(code) + b"\x89\x88\x87R" + state + b"b"


def np_scalar(dt: bytes, payload: bytes) -> bytes:
    return g0("numpy.core.multiarray", "scalar") + dt + payload + b"\x86R"


def np_array(shape: tuple[int, ...], dt: bytes, data: bytes, subtype: bytes | None = None):
    """_reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, False, data)."""
    subtype = g0("numpy", "ndarray") if subtype is None else subtype
    shape_ops = b"(" + b"".join(pint(d) for d in shape) + b"t"
    return (
        g0("numpy.core.multiarray", "_reconstruct")
        + subtype
        + pint(0)
        + b"\x85"
        + by(b"b")
        + b"\x87R"
        + b"("
        + pint(1)
        + shape_ops
        + dt
        + b"\x89"
        + by(data)
        + b"tb"
    )


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    protocol: int
    build: object  # (marker: Path) -> payload bytes leaving one object on the stack
    placeholders: tuple[str, ...] = ()  # wrapped: loads, with these placeholders
    live: bool = False  # plain pickle.loads of the bare form would touch the marker
    cli: bool = False  # also run through the console script
    marks: tuple = field(default=())

    @property
    def loads_wrapped(self) -> bool:
        return bool(self.placeholders)


def _popen_p0(m):
    return g0("subprocess", "Popen") + b"((" + v0("touch") + v0(str(m)) + b"ltR"


def _popen_p4(m):
    return sg("subprocess", "Popen") + b"](" + sbu("touch") + sbu(str(m)) + b"e\x85R"


def _getattr_chain_p0(m):
    imp = g0("builtins", "__import__") + b"(" + v0("os") + b"tR"
    return g0("builtins", "getattr") + b"(" + imp + v0("system") + b"tR(" + v0(touch(m)) + b"tR"


def _getattr_chain_p2(m):
    imp = g0("builtins", "__import__") + bu("os") + b"\x85R"
    return g0("builtins", "getattr") + imp + bu("system") + b"\x86R" + bu(touch(m)) + b"\x85R"


def _getattr_chain_p4(m):
    imp = sg("builtins", "__import__") + sbu("os") + b"\x85R"
    return sg("builtins", "getattr") + imp + sbu("system") + b"\x86R" + sbu(touch(m)) + b"\x85R"


def _inner(m):  # a complete pickle that runs os.system when loaded
    return bare(g0("os", "system") + bu(touch(m)) + b"\x85R", 2)


CASES = [
    # REDUCE on os.system / posix.system / subprocess.Popen / eval / exec, protocols 0, 2, 4
    Case(
        "os.system-p0",
        0,
        lambda m: g0("os", "system") + b"(" + v0(touch(m)) + b"tR",
        ("os.system",),
        live=True,
        cli=True,
    ),
    Case(
        "os.system-p2",
        2,
        lambda m: g0("os", "system") + bu(touch(m)) + b"\x85R",
        ("os.system",),
        live=True,
    ),
    Case(
        "os.system-p4",
        4,
        lambda m: sg("os", "system") + sbu(touch(m)) + b"\x85R",
        ("os.system",),
        live=True,
        cli=True,
    ),
    Case(
        "posix.system-p0",
        0,
        lambda m: g0("posix", "system") + b"(" + v0(touch(m)) + b"tR",
        ("posix.system",),
        live=True,
    ),
    Case(
        "posix.system-p2",
        2,
        lambda m: g0("posix", "system") + bu(touch(m)) + b"\x85R",
        ("posix.system",),
        live=True,
        cli=True,
    ),
    Case(
        "posix.system-p4",
        4,
        lambda m: sg("posix", "system") + sbu(touch(m)) + b"\x85R",
        ("posix.system",),
        live=True,
    ),
    Case("subprocess.Popen-p0", 0, _popen_p0, ("subprocess.Popen",), live=True),
    Case("subprocess.Popen-p4", 4, _popen_p4, ("subprocess.Popen",), live=True, cli=True),
    Case(
        "eval-p0",
        0,
        lambda m: g0("builtins", "eval") + b"(" + v0(pycode(m)) + b"tR",
        ("builtins.eval",),
        live=True,
        cli=True,
    ),
    Case(
        "eval-p2",
        2,
        lambda m: g0("builtins", "eval") + bu(pycode(m)) + b"\x85R",
        ("builtins.eval",),
        live=True,
    ),
    Case(
        "eval-p4",
        4,
        lambda m: sg("builtins", "eval") + sbu(pycode(m)) + b"\x85R",
        ("builtins.eval",),
        live=True,
    ),
    Case(
        "exec-p0",
        0,
        lambda m: g0("builtins", "exec") + b"(" + v0(pycode(m)) + b"tR",
        ("builtins.exec",),
        live=True,
    ),
    Case(
        "exec-p4",
        4,
        lambda m: sg("builtins", "exec") + sbu(pycode(m)) + b"\x85R",
        ("builtins.exec",),
        live=True,
        cli=True,
    ),
    # getattr(__import__('os'), 'system')('touch …'): the last REDUCE calls a placeholder
    # instance, which only makes another inert placeholder (cloudpickle needs that)
    Case("getattr-chain-p0", 0, _getattr_chain_p0, ("builtins.getattr",), live=True),
    Case("getattr-chain-p2", 2, _getattr_chain_p2, ("builtins.getattr",), live=True, cli=True),
    Case("getattr-chain-p4", 4, _getattr_chain_p4, ("builtins.getattr",), live=True),
    # INST and OBJ call the class they name
    Case(
        "INST-os.system",
        0,
        lambda m: b"(" + v0(touch(m)) + b"ios\nsystem\n",
        ("os.system",),
        live=True,
        cli=True,
    ),
    Case(
        "OBJ-os.system",
        1,
        lambda m: b"(" + g0("os", "system") + v0(touch(m)) + b"o",
        ("os.system",),
        live=True,
        cli=True,
    ),
    # NEWOBJ / NEWOBJ_EX on a placeholder class; NEWOBJ on a placeholder instance
    Case(
        "NEWOBJ-placeholder",
        2,
        lambda m: g0("os", "system") + bu(touch(m)) + b"\x85\x81",
        ("os.system",),
        cli=True,
    ),
    Case(
        "NEWOBJ_EX-placeholder",
        4,
        lambda m: sg("os", "system") + sbu(touch(m)) + b"\x85}" + sbu("shell") + b"\x88s\x92",
        ("os.system",),
    ),
    # the C loop refuses NEWOBJ on a non-type; the fallback loop makes a placeholder
    Case("NEWOBJ-on-instance", 2, lambda m: g0("os", "system") + b")R)\x81", ("os.system",)),
    # dotted names: protocol 4 pickle resolves them with getattr chains
    Case(
        "dotted-getattr.__self__.eval",
        4,
        lambda m: sg("builtins", "getattr.__self__.eval") + sbu(pycode(m)) + b"\x85R",
        ("builtins.getattr.__self__.eval",),
        live=True,
        cli=True,
    ),
    Case(
        "dotted-system.__call__",
        4,
        lambda m: sg("os", "system.__call__") + sbu(touch(m)) + b"\x85R",
        ("os.system.__call__",),
        live=True,
    ),
    Case(
        "dotted-posix.system.__call__-GLOBAL-p4",
        4,
        lambda m: g0("posix", "system.__call__") + sbu(touch(m)) + b"\x85R",
        ("posix.system.__call__",),
        live=True,
    ),
    # Python 2 names
    Case(
        "py2-__builtin__.eval",
        0,
        lambda m: g0("__builtin__", "eval") + b"(" + v0(pycode(m)) + b"tR",
        ("builtins.eval",),
        live=True,
        cli=True,
    ),
    Case(
        "py2-copy_reg._reconstructor-Popen",
        0,
        lambda m: (
            g0("copy_reg", "_reconstructor")
            + b"("
            + g0("subprocess", "Popen")
            + g0("__builtin__", "object")
            + v0(touch(m))
            + b"tR"
        ),
        ("subprocess.Popen",),
    ),
    Case(
        "py2-copy_reg._reconstructor-set",
        0,
        lambda m: (
            g0("copy_reg", "_reconstructor")
            + b"("
            + g0("__builtin__", "set")
            + g0("__builtin__", "set")
            + b"("
            + v0(touch(m))
            + b"ltR"
        ),
    ),
    Case(
        "copyreg._reconstructor-os.system",
        2,
        lambda m: (
            g0("copyreg", "_reconstructor")
            + g0("os", "system")
            + g0("builtins", "object")
            + bu(touch(m))
            + b"\x87R"
        ),
        ("os.system",),
        cli=True,
    ),
    # nested unpickling
    Case(
        "nested-_pickle.loads",
        4,
        lambda m: sg("_pickle", "loads") + by(_inner(m)) + b"\x85R",
        ("_pickle.loads",),
        live=True,
        cli=True,
    ),
    Case(
        "nested-pickle.loads",
        3,
        lambda m: g0("pickle", "loads") + by(_inner(m)) + b"\x85R",
        ("pickle.loads",),
        live=True,
    ),
    # pkgutil.resolve_name('os:system')('touch …') and runpy._run_code('…', {})
    Case(
        "pkgutil.resolve_name",
        0,
        lambda m: (
            g0("pkgutil", "resolve_name") + b"(" + v0("os:system") + b"tR(" + v0(touch(m)) + b"tR"
        ),
        ("pkgutil.resolve_name",),
        live=True,
        cli=True,
    ),
    Case(
        "runpy._run_code",
        0,
        lambda m: (
            g0("runpy", "_run_code") + b"(" + v0(f"import os; os.system('touch {m}')") + b"(dtR"
        ),
        ("runpy._run_code",),
        live=True,
        cli=True,
    ),
    # persistent ids and the extension registry
    Case("PERSID", 0, lambda m: b"P" + touch(m).encode() + b"\n", cli=True),
    Case("BINPERSID", 2, lambda m: bu(touch(m)) + b"Q", cli=True),
    Case("EXT1", 2, lambda m: b"\x82\x01" + bu(touch(m)) + b"\x85R", cli=True),
    Case("EXT2", 2, lambda m: b"\x83\x01\x01" + bu(touch(m)) + b"\x85R"),
    Case("EXT4", 2, lambda m: b"\x84\x01\x00\x00\x01" + bu(touch(m)) + b"\x85R"),
]

F8_STATE_STRUCTURED = (
    b"("
    + pint(3)
    + bu("|")
    + b"N("
    + bu("a")
    + b"t}"
    + bu("a")
    + dtype("f8")
    + pint(0)
    + b"\x86s"
    + pint(8)
    + pint(1)
    + pint(16)
    + b"t"
)

NUMPY_CASES = [
    # (id, payload, loads?) — the controls show the forgeries differ from a valid value
    ("control-scalar-f8", np_scalar(dtype("f8"), by(struct.pack("<d", 0.5))), True),
    ("control-array-3xf8", np_array((3,), dtype("f8"), bytes(24)), True),
    ("scalar-dtype-O", np_scalar(dtype("O8"), g0("os", "system") + b")R"), False),
    ("scalar-dtype-O-no-size", np_scalar(dtype("O"), by(bytes(8))), False),
    ("scalar-object-payload-None", np_scalar(dtype("f8"), b"N"), False),
    ("scalar-wrong-length", np_scalar(dtype("f8"), by(b"\x00\x00\x00")), False),
    (
        "scalar-structured-dtype-state",
        np_scalar(dtype("f8", F8_STATE_STRUCTURED), by(bytes(8))),
        False,
    ),
    ("dtype-void-kind", np_scalar(dtype("V8"), by(bytes(8))), False),
    (
        "reconstruct-subtype-memmap",
        np_array((1,), dtype("f8"), bytes(8), g0("numpy", "memmap")),
        False,
    ),
    (
        "reconstruct-subtype-placeholder-class",
        np_array((1,), dtype("f8"), bytes(8), g0("os", "system")),
        False,
    ),
    ("array-data-length-mismatch", np_array((3,), dtype("f8"), bytes(16)), False),
    ("array-huge-shape", np_array((2**40, 2**40), dtype("f8"), bytes(8)), False),
    ("array-huge-shape-overflowing-product", np_array((2**63,) * 4, dtype("f8"), bytes(8)), False),
    ("array-negative-shape", np_array((-1,), dtype("f8"), bytes(8)), False),
    (
        "frombuffer-huge-shape",
        g0("numpy._core.numeric", "_frombuffer")
        + b"("
        + by(bytes(8))
        + dtype("f8")
        + b"("
        + pint(2**40)
        + pint(2**40)
        + b"t"
        + bu("C")
        + b"tR",
        False,
    ),
]


# --------------------------------------------------------------------------- helpers


def _write(tmp_path: Path, data: bytes, name: str = "hostile.p") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _one_line(message: str) -> bool:
    return "\n" not in message and "\r" not in message


def _expect_input_error(path: Path, **kwargs) -> str:
    """Load through the API: it must raise InputError (nothing else) with a one-line message."""
    with pytest.raises(InputError) as info:
        load_study(path, **kwargs)
    message = str(info.value)
    assert _one_line(message), repr(message)
    return message


def _run_cli(path: Path, *extra: str, cwd: Path, timeout: float = 30):
    env = {k: v for k, v in os.environ.items() if k != "HOPT_INSPECT_DEBUG"}
    env["COLUMNS"] = "100"
    return subprocess.run(
        [sys.executable, "-m", "hopt_inspect", "summary", str(path), *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def _assert_cli_refuses(path: Path, marker: Path, *extra: str) -> str:
    out = _run_cli(path, *extra, cwd=path.parent)
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and out.stderr.endswith("\n"), repr(out.stderr)
    assert lines[0].startswith("hopt-inspect: error: "), lines[0]
    assert not marker.exists()
    return lines[0]


def _wait_for(path: Path, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.02)
    return path.exists()


@contextmanager
def _address_space_cap(extra_bytes: int):
    """Cap this process's address space (a guard for fuzzing: memo-index bombs)."""
    with open("/proc/self/statm") as f:
        vm_now = int(f.read().split()[0]) * resource.getpagesize()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm_now + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _child_limits(max_bytes: int = 3 << 30):
    def apply():  # runs in the child before exec
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    return apply


# --------------------------------------------------------------------------- positive control


@pytest.mark.parametrize("case", [c for c in CASES if c.live], ids=lambda c: c.id)
def test_payload_is_live_under_plain_pickle(case, tmp_path):
    """Control: plain pickle.loads (in a child process) does run each 'live' payload."""
    marker = tmp_path / "marker"
    path = _write(tmp_path, bare(case.build(marker), case.protocol))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import pickle,sys; pickle.loads(open(sys.argv[1],'rb').read())",
            str(path),
        ],
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert _wait_for(marker), "the payload is not live: the marker checks would prove nothing"


# --------------------------------------------------------------------------- hostile globals


def _params(cases):
    return [pytest.param(c, id=c.id, marks=c.marks) for c in cases]


@pytest.mark.parametrize("case", _params(CASES))
def test_hostile_global_api(case, tmp_path):
    marker = tmp_path / "marker"
    payload = case.build(marker)

    # bare: the top-level object is the payload → never a study → InputError
    _expect_input_error(_write(tmp_path, bare(payload, case.protocol), "bare.p"))
    assert not marker.exists()

    # wrapped in a valid trial document: loads with placeholders, or InputError
    wrapped = _write(tmp_path, wrap(payload, protocol=case.protocol), "wrapped.p")
    if case.loads_wrapped:
        study = load_study(wrapped)
        assert study.n_trials == 1 and study.trials[0].loss == 1.0
        for name in case.placeholders:
            assert study.placeholders.get(name, 0) >= 1, study.placeholders
        message = _expect_input_error(wrapped, strict=True)
        assert any(name in message for name in case.placeholders), message
    else:
        _expect_input_error(wrapped)
        _expect_input_error(wrapped, strict=True)
    assert not marker.exists()


@pytest.mark.parametrize("case", _params(c for c in CASES if c.cli))
def test_hostile_global_cli(case, tmp_path):
    """Exit 2 and one stderr line: the bare payload, or the wrapped one when that fails too."""
    marker = tmp_path / "marker"
    payload = case.build(marker)
    data = (
        bare(payload, case.protocol)
        if case.loads_wrapped
        else wrap(payload, protocol=case.protocol)
    )
    _assert_cli_refuses(_write(tmp_path, data), marker)


def test_extension_registry_in_process_is_refused(tmp_path):
    """EXT opcodes skip find_class when the process has a registered extension."""
    marker = tmp_path / "marker"
    path = _write(tmp_path, bare(b"\x82\xf0" + bu(touch(marker)) + b"\x85R", 2))
    code = textwrap.dedent(
        f"""
        import copyreg, pickle, sys
        from hopt_inspect.errors import InputError
        from hopt_inspect.loading import load_study
        copyreg.add_extension("posix", "system", 240)
        try:
            load_study({str(path)!r})
        except InputError as exc:
            print("InputError:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("InputError:") and "extension registry" in out.stdout
    assert not marker.exists()
    # control: with the registry entry, plain pickle runs it
    control = textwrap.dedent(
        f"""
        import copyreg, pickle
        copyreg.add_extension("posix", "system", 240)
        pickle.loads(open({str(path)!r}, "rb").read())
        """
    )
    subprocess.run([sys.executable, "-c", control], capture_output=True, timeout=30)
    assert _wait_for(marker)


# --------------------------------------------------------------------------- numpy forgeries


@pytest.mark.parametrize(
    ("case_id", "payload", "loads"), NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES]
)
def test_numpy_forgeries(tmp_path, case_id, payload, loads):
    path = _write(tmp_path, wrap(payload, protocol=3))
    if loads:
        study = load_study(path)
        assert study.n_trials == 1
        if case_id == "control-scalar-f8":
            assert study.trials[0].extra["payload"] == 0.5
    else:
        message = _expect_input_error(path)
        assert "numpy" in message or "pickle" in message, message
        _expect_input_error(_write(tmp_path, bare(payload, 3), "bare.p"))


def test_numpy_scalar_as_loss_control(tmp_path):
    """Control for the forgeries: a valid numpy float64 loss loads as a number."""
    loss = np_scalar(dtype("f8"), by(struct.pack("<d", 0.25)))
    study = load_study(_write(tmp_path, wrap(b"N", protocol=3, loss=loss)))
    assert study.trials[0].loss == 0.25


@pytest.mark.parametrize(
    "case_id", ["reconstruct-subtype-placeholder-class", "array-huge-shape", "scalar-dtype-O"]
)
def test_numpy_forgeries_cli(tmp_path, case_id):
    payload = dict((c[0], c[1]) for c in NUMPY_CASES)[case_id]
    _assert_cli_refuses(_write(tmp_path, wrap(payload, protocol=3)), tmp_path / "marker")


# --------------------------------------------------------------------------- a real Trials


class _Ref:
    """Stands for a global by name; the pickler below writes it as GLOBAL/STACK_GLOBAL."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args):  # pragma: no cover - save_reduce only checks callable()
        raise AssertionError("never called")


class _Call:
    """Pickles as REDUCE(ref, args)."""

    def __init__(self, ref: _Ref, *args) -> None:
        self.ref, self.args = ref, args


class _HostilePickler(pickle._Pickler):  # the pure-Python pickler: its save() is overridable
    def reducer_override(self, obj):
        if isinstance(obj, _Call):
            return (obj.ref, obj.args)
        return NotImplemented

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Ref):
            self.framer.commit_frame()
            if self.proto >= 4:
                self.save(obj.module)
                self.save(obj.name)
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(g0(obj.module, obj.name))
            return
        super().save(obj, save_persistent_id)


def small_fmin_trials():
    """5 trials of rand.suggest on one uniform parameter (also used by make_hostile.py)."""
    from conftest import run_fmin
    from hyperopt import hp

    return run_fmin(lambda x: (x - 0.3) ** 2, hp.uniform("x", -1, 1), 5, seed=0)


@pytest.fixture(scope="module")
def fmin_trials():
    return small_fmin_trials()


@pytest.fixture(scope="module")
def trials_bytes(fmin_trials):
    return pickle.dumps(fmin_trials, protocol=4)


def _hostile_trials(trials, marker: Path, protocol: int) -> bytes:
    import copy

    evil = copy.deepcopy(trials)
    evil._dynamic_trials[2]["result"]["note"] = _Call(_Ref("posix", "system"), touch(marker))
    evil.attachments["evil"] = _Call(_Ref("os", "system"), touch(marker))
    buf = io.BytesIO()
    _HostilePickler(buf, protocol).dump(evil)
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_payload_hidden_in_real_trials(fmin_trials, tmp_path, protocol):
    marker = tmp_path / "marker"
    path = _write(tmp_path, _hostile_trials(fmin_trials, marker, protocol))
    study = load_study(path)
    assert not marker.exists()
    assert study.n_trials == 5
    assert [t.loss for t in study.trials] == fmin_trials.losses()
    assert study.placeholders.get("posix.system") == 1
    assert study.placeholders.get("os.system") == 1
    assert "evil" in study.attachments
    assert study.trials[2].extra["note"] == "<posix.system>"
    message = _expect_input_error(path, strict=True)
    assert "posix.system" in message or "os.system" in message
    assert not marker.exists()


def test_payload_hidden_in_real_trials_cli(fmin_trials, tmp_path):
    marker = tmp_path / "marker"
    path = _write(tmp_path, _hostile_trials(fmin_trials, marker, 4))
    out = _run_cli(path, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "posix.system" in out.stdout and "os.system" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert not marker.exists()
    line = _assert_cli_refuses(path, marker, "--strict")
    assert "system" in line
    # control: --trust is plain pickle, and the payload does run
    _run_cli(path, "--trust", cwd=tmp_path)
    assert _wait_for(marker)


# --------------------------------------------------------------------------- not Trials at all


def _gzip_garbage():
    return gzip.compress(bytes(range(7, 200)) * 3)


BAD_FILES = [
    ("empty", b"", "empty"),
    ("one-byte-00", b"\x00", "not a pickle"),
    ("one-byte-ff", b"\xff", "not a pickle"),
    ("one-byte-mark", b"(", "incomplete"),
    ("one-byte-proto", b"\x80", None),
    ("one-byte-stop", b".", None),
    ("png", b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG"),
    ("zip", b"PK\x03\x04" + bytes(64), "zip"),
    ("gzip-of-garbage", _gzip_garbage(), "not a pickle"),
    ("gzip-header-only", b"\x1f\x8b\x08\x00", "gzip"),
    ("pickle-of-int", pickle.dumps(42), "hyperopt study"),
    ("pickle-of-dict-without-trials", pickle.dumps({"a": 1, "b": [1, 2]}), "hyperopt study"),
    ("pickle-of-dict-trials-not-trials", pickle.dumps({"trials": 3}), "hyperopt study"),
    ("pickle-of-list-of-ints", pickle.dumps([1, 2, 3]), "hyperopt study"),
]


@pytest.mark.parametrize(("case_id", "data", "fragment"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_not_a_study(tmp_path, case_id, data, fragment):
    message = _expect_input_error(_write(tmp_path, data))
    if fragment:
        assert fragment in message, message


def test_pickle_of_numpy_array(tmp_path):
    import numpy as np

    for protocol in (2, 4, 5):
        data = pickle.dumps(np.arange(6.0).reshape(2, 3), protocol=protocol)
        message = _expect_input_error(_write(tmp_path, data))
        assert "numpy" in message and "hyperopt study" in message, message


@pytest.mark.parametrize("name", ["empty", "png", "zip", "pickle-of-int", "gzip-of-garbage"])
def test_not_a_study_cli(tmp_path, name):
    data = dict((b[0], b[1]) for b in BAD_FILES)[name]
    _assert_cli_refuses(_write(tmp_path, data), tmp_path / "marker")


def test_truncated_gzip_of_valid_trials(trials_bytes, tmp_path):
    packed = gzip.compress(trials_bytes)
    for cut in (len(packed) // 2, len(packed) - 9, 20):
        message = _expect_input_error(_write(tmp_path, packed[:cut]))
        assert "incomplete" in message, (cut, message)
    _assert_cli_refuses(_write(tmp_path, packed[: len(packed) // 2]), tmp_path / "marker")


def _truncation_offsets(n: int) -> list[int]:
    picks = {1, 2, 3, 5, 11, n - 1, n - 2}
    picks.update(n * k // 17 for k in range(1, 17))
    return sorted(p for p in picks if 0 < p < n)


TRUNCATION_MESSAGES: dict[int, str] = {}


@pytest.mark.parametrize("index", range(23))  # offset index 0 is always byte 1
def test_truncated_trials_pickle(trials_bytes, tmp_path, index):
    offsets = _truncation_offsets(len(trials_bytes))
    if index >= len(offsets):
        pytest.skip("fewer offsets")
    cut = offsets[index]
    message = _expect_input_error(_write(tmp_path, trials_bytes[:cut]))
    TRUNCATION_MESSAGES[cut] = message.split(": ", 1)[1]
    assert "incomplete" in message, (cut, message)


def test_truncated_trials_cli(trials_bytes, tmp_path):
    line = _assert_cli_refuses(
        _write(tmp_path, trials_bytes[: len(trials_bytes) // 2]), tmp_path / "marker"
    )
    assert "incomplete" in line


# --------------------------------------------------------------------------- fuzzing


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _load_any(path: Path):
    try:
        return load_study(path)
    except InputError as exc:
        assert _one_line(str(exc)), repr(str(exc))
        return None


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=300))
def test_random_bytes(fuzz_dir, data):
    with _address_space_cap(3 << 30):
        _load_any(_write(fuzz_dir, data))


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    protocol=st.sampled_from([0, 2, 4]),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4
    ),
)
def test_mutated_trials(fmin_trials, fuzz_dir, protocol, edits):
    data = bytearray(pickle.dumps(fmin_trials, protocol=protocol))
    for where, value in edits:
        data[int(where * len(data))] = value
    with _address_space_cap(3 << 30):
        _load_any(_write(fuzz_dir, bytes(data)))


# --------------------------------------------------------------------------- found bugs


CONTROL_NAME = "system\n\x1b[2Jinjected"


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_control_characters_in_global_name(tmp_path, strict):
    path = _write(tmp_path, bare(sg("posix", CONTROL_NAME), 4))
    with pytest.raises(InputError) as info:
        load_study(path, strict=strict)
    message = str(info.value)
    assert _one_line(message) and "\x1b" not in message, repr(message)


def test_control_characters_in_global_name_cli(tmp_path):
    path = _write(tmp_path, bare(sg("posix", CONTROL_NAME), 4))
    line = _assert_cli_refuses(path, tmp_path / "marker", "--strict")
    assert "\x1b" not in line


@pytest.mark.parametrize("where", ["result-value", "loss"])
def test_invalid_dtype_size_in_result(tmp_path, where):
    bad = g0("numpy", "dtype") + bu("f3") + b"\x89\x88\x87R"  # no BUILD: never validated
    data = wrap(bad, protocol=2) if where == "result-value" else wrap(b"N", protocol=2, loss=bad)
    path = _write(tmp_path, data)
    try:
        load_study(path)
    except InputError as exc:
        assert _one_line(str(exc))


def test_infinite_tid(tmp_path):
    path = _write(tmp_path, wrap(b"N", tid=b"G" + struct.pack(">d", float("inf"))))
    try:
        load_study(path)
    except InputError as exc:
        assert _one_line(str(exc))


def test_deeply_nested_loss(tmp_path):
    path = _write(tmp_path, wrap(b"N", protocol=2, loss=b"]" + b"\x85" * 100_000))
    try:
        study = load_study(path)
    except InputError as exc:
        assert _one_line(str(exc))
    else:
        assert study.trials[0].loss is None


def _billion_laughs_list(levels: int = 30, width: int = 10) -> bytes:
    """A list holding the same list ``width`` times, ``levels`` deep, through the memo."""
    out = b"]q\x000"
    for i in range(levels):
        out += b"(" + bytes([ord("h"), i]) * width + b"l" + bytes([ord("q"), i + 1])
        out += b"0" if i < levels - 1 else b""
    return out


def test_billion_laughs_loss_does_not_hang(tmp_path):
    path = _write(tmp_path, wrap(b"N", protocol=2, loss=_billion_laughs_list()))
    try:
        out = _run_cli(path, cwd=tmp_path, timeout=4)
    except subprocess.TimeoutExpired:
        pytest.fail("the loader hangs on a 400-byte file")
    assert out.returncode in (0, 2) and len(out.stderr.splitlines()) <= 1


def test_billion_laughs_result_value_is_fine(tmp_path):
    """The same structure as an extra result value is walked once per object: fast."""
    path = _write(tmp_path, wrap(_billion_laughs_list(), protocol=2))
    start = time.monotonic()
    study = load_study(path)
    assert time.monotonic() - start < 2
    assert study.n_trials == 1


@pytest.mark.parametrize("target", ["NDArrayMarker", "_codecs.encode.__defaults__"])
def test_build_on_allowed_object_does_not_mutate_the_process(tmp_path, target):
    marker_dict = dict(vars(sp.NDArrayMarker))
    defaults = sp._codecs_encode.__defaults__
    fn_dict = dict(vars(sp._codecs_encode))
    if target == "NDArrayMarker":
        payload = g0("numpy", "ndarray") + b"(N(d" + v0("pwned") + b"I1\nstb"
    else:
        payload = (
            g0("_codecs", "encode")
            + b"(N(d"
            + v0("__defaults__")
            + b"("
            + v0("rot13")
            + v0("strict")
            + b"tstb"
        )
    try:
        with suppress(InputError):
            load_study(_write(tmp_path, wrap(payload)))
        assert dict(vars(sp.NDArrayMarker)) == marker_dict
        assert sp._codecs_encode.__defaults__ == defaults
        assert dict(vars(sp._codecs_encode)) == fn_dict
    finally:  # undo the damage for the rest of the session
        for key in set(vars(sp.NDArrayMarker)) - set(marker_dict):
            delattr(sp.NDArrayMarker, key)
        sp._codecs_encode.__defaults__ = defaults
        for key in set(vars(sp._codecs_encode)) - set(fn_dict):
            delattr(sp._codecs_encode, key)


def test_memo_index_bomb_is_bounded(tmp_path):
    path = _write(tmp_path, b"]r" + struct.pack("<I", 2**25) + b".")
    code = textwrap.dedent(
        f"""
        import resource
        from hopt_inspect.errors import InputError
        from hopt_inspect.loading import load_study
        try:
            load_study({str(path)!r})
            outcome = "loaded"
        except InputError as exc:
            outcome = "InputError: " + str(exc)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(outcome, "|", peak_mib)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_child_limits(3 << 30),
    )
    assert out.returncode == 0, out.stderr
    outcome, peak = out.stdout.rsplit("|", 1)
    # a 7-byte file must not cost 512 MiB: either refused, or loaded within the default cap
    # (256 MiB of allocations for a small file, plus the interpreter: seen at 275 MiB when
    # the memo's resize was touched before the cap refused the rest)
    assert int(peak) < 384, f"{outcome.strip()}; peak RSS {peak.strip()} MiB"
