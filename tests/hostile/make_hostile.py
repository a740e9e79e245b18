#!/usr/bin/env python
"""Write the committed hostile files into ``files/`` and their ``MANIFEST.json``.

Run from anywhere: ``python tests/hostile/make_hostile.py`` (about a minute: the bz2
bomb is compressed from 8 GiB of zeros). Every pickle is assembled from opcodes with the
builders of ``tests/test_loading_hostile.py``, or written by its pure-Python pickler that
emits chosen global names; nothing dangerous is imported to build them.

Each code-execution payload would run ``touch HOSTILE_MARKER``: a *relative* path, so it
lands in the working directory of whoever loads it. The test runs the CLI with cwd set to
a fresh temporary folder and checks the marker never appears there.

Expected outcomes in the manifest are either
``{"exit": 2, "message_contains": "..."}`` (one ``hopt-inspect: error:`` line), or
``{"exit": 0, "placeholders": {name: count}, "n_trials": N}``. An entry may carry
``"known_bug"``: the outcome is what the loader *should* do, and the test marks it xfail.
"""

from __future__ import annotations

import bz2
import copy
import gzip
import io
import json
import pickle
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
sys.path.insert(0, str(HERE.parent))

import test_loading_hostile as th  # noqa: E402  (the opcode builders)

MARKER = Path("HOSTILE_MARKER")  # relative: resolved against the loader's cwd
TOUCH = f"touch {MARKER}"
VALID = "valid_fmin_rand5_p4.p"  # also the seed of the truncate-at-every-offset test

NOT_A_STUDY = "not a hyperopt study"
REFUSED = "refused to load"


def ok(placeholders: dict[str, int] | None = None, n_trials: int = 1) -> dict:
    return {"exit": 0, "placeholders": placeholders or {}, "n_trials": n_trials}


def err(fragment: str) -> dict:
    return {"exit": 2, "message_contains": fragment}


ENTRIES: list[dict] = []


def add(name: str, data: bytes, attacks: str, expect: dict, **extra) -> None:
    assert not any(e["file"] == name for e in ENTRIES), name
    (FILES / name).write_bytes(data)
    ENTRIES.append({"file": name, "attacks": attacks, "expect": expect, **extra})


# --------------------------------------------------------------------------- helpers


def fmin_trials():
    return th.small_fmin_trials()


def hostile_dump(obj, protocol: int) -> bytes:
    buf = io.BytesIO()
    th._HostilePickler(buf, protocol).dump(obj)
    return buf.getvalue()


def call(module: str, name: str, *args):
    return th._Call(th._Ref(module, name), *args)


def system(module: str = "os"):
    return call(module, "system", TOUCH)


def nested_lists(depth: int) -> bytes:
    return b"(" * depth + b"l" * depth


def nested_dicts(depth: int) -> bytes:
    return b"}" + b"K\x00}" * depth + b"s" * depth


def colliding_int_dict(n: int) -> bytes:
    """{k * (2**61 - 1): None}: every key hashes to 0 (int hashes are mod 2**61 - 1)."""
    modulus = 2**61 - 1
    return b"}(" + b"".join(th.pint(k * modulus) + b"N" for k in range(1, n + 1)) + b"u"


def compressed_zeros(compressor, total: int, prefix: bytes = b"") -> bytes:
    out = [compressor.compress(prefix)]
    chunk = bytes(64 << 20)
    left = total
    while left > 0:
        out.append(compressor.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    out.append(compressor.flush())
    return b"".join(out)


# --------------------------------------------------------------------------- the files


def code_execution() -> None:
    """The payload lists of test_loading_hostile, wrapped in a valid trial document."""
    wanted = {
        # id: (placeholders when wrapped, or an error fragment)
        "os.system-p0": {"os.system": 1},
        "posix.system-p2": {"posix.system": 1},
        "os.system-p4": {"os.system": 1},
        "subprocess.Popen-p4": {"subprocess.Popen": 1},
        "eval-p0": {"builtins.eval": 1},
        "exec-p4": {"builtins.exec": 1},
        "getattr-chain-p2": {
            "builtins.__import__": 1,
            "builtins.getattr": 1,
            "builtins.getattr()": 1,
        },
        "INST-os.system": {"os.system": 1},
        "OBJ-os.system": {"os.system": 1},
        "NEWOBJ-placeholder": {"os.system": 1},
        "NEWOBJ_EX-placeholder": {"os.system": 1},
        "NEWOBJ-on-instance": {"os.system": 1, "os.system()": 1},
        "dotted-getattr.__self__.eval": {"builtins.getattr.__self__.eval": 1},
        "dotted-posix.system.__call__-GLOBAL-p4": {"posix.system.__call__": 1},
        "py2-__builtin__.eval": {"builtins.eval": 1},
        "py2-copy_reg._reconstructor-Popen": {"subprocess.Popen": 1},
        "py2-copy_reg._reconstructor-set": "copyreg._reconstructor of a class that is not",
        "copyreg._reconstructor-os.system": {"os.system": 1},
        "nested-_pickle.loads": {"_pickle.loads": 1},
        "nested-pickle.loads": {"pickle.loads": 1},
        "pkgutil.resolve_name": {"pkgutil.resolve_name": 1, "pkgutil.resolve_name()": 1},
        "runpy._run_code": {"runpy._run_code": 1},
        "PERSID": "persistent id",
        "BINPERSID": "persistent id",
        "EXT1": "unregistered extension code",
        "EXT4": "unregistered extension code",
    }
    cases = {c.id: c for c in th.CASES}
    for case_id, outcome in wanted.items():
        case = cases[case_id]
        data = th.wrap(case.build(MARKER), protocol=case.protocol)
        expect = ok(outcome) if isinstance(outcome, dict) else err(outcome)
        add(f"exec_{case_id}.p", data, f"code execution: {case_id} in a result value", expect)
    # bare: the payload is the whole file
    for case_id in ("os.system-p0", "OBJ-os.system", "pkgutil.resolve_name", "runpy._run_code"):
        case = cases[case_id]
        add(
            f"bare_{case_id}.p",
            th.bare(case.build(MARKER), case.protocol),
            f"code execution: {case_id} as the top-level object",
            err(NOT_A_STUDY),
        )
    # runpy._run_module_code / runpy.run_path: the other runpy entry points
    add(
        "exec_runpy.run_module.p",
        th.wrap(th.sg("runpy", "run_module") + th.sbu("this") + b"\x85R", protocol=4),
        "code execution: runpy.run_module (imports and runs a module)",
        ok({"runpy.run_module": 1}),
    )
    # STACK_GLOBAL on non-strings, and an INST whose class line holds a dotted path
    add(
        "stack_global_non_str.p",
        th.wrap(th.pint(1) + th.pint(2) + b"\x93", protocol=4),
        "STACK_GLOBAL with integers instead of names",
        err("STACK_GLOBAL requires str"),
    )
    add(
        "inst_dotted_name.p",
        th.wrap(b"(" + th.v0(TOUCH) + b"ibuiltins\ngetattr.__self__.exec\n", protocol=0),
        "INST with a dotted name reaching exec",
        ok({"builtins.getattr.__self__.exec": 1}),
    )


def numpy_forgeries() -> None:
    forged = dict((c[0], c[1]) for c in th.NUMPY_CASES)
    wanted = {
        "scalar-dtype-O": "numpy dtype kind 'O'",
        "scalar-object-payload-None": "numpy object scalars",
        "scalar-wrong-length": "wrong length",
        "scalar-structured-dtype-state": "structured numpy dtypes",
        "dtype-void-kind": "numpy dtype kind 'V'",
        "reconstruct-subtype-memmap": "_reconstruct of something other than ndarray",
        "array-data-length-mismatch": "does not match its shape",
        "array-huge-shape": "does not match its shape",
        "array-huge-shape-overflowing-product": "does not match its shape",
        "array-negative-shape": "malformed numpy array shape",
        "frombuffer-huge-shape": "does not match its shape",
    }
    for case_id, fragment in wanted.items():
        add(
            f"numpy_{case_id}.p",
            th.wrap(forged[case_id], protocol=3),
            f"numpy forgery: {case_id}",
            err(fragment),
        )

    def state(order="<", subdescr=b"N", names=b"N", fields=b"N", elsize=-1, align=-1, flags=0):
        return (
            b"("
            + th.pint(3)
            + th.bu(order)
            + subdescr
            + names
            + fields
            + th.pint(elsize)
            + th.pint(align)
            + th.pint(flags)
            + b"t"
        )

    half = th.by(struct.pack("<d", 0.5))
    # flags, elsize and alignment in the state are never handed to numpy: these load
    add(
        "numpy_dtype_forged_flags.p",
        th.wrap(th.np_scalar(th.dtype("f8", state(flags=0x7FFFFFFF)), half), protocol=3),
        "numpy dtype state with every flag set (NPY_ITEM_REFCOUNT / object semantics)",
        ok(),
    )
    add(
        "numpy_dtype_forged_elsize_alignment.p",
        th.wrap(
            th.np_scalar(th.dtype("f8", state(elsize=2**31 - 1, align=2**30)), half), protocol=3
        ),
        "numpy f8 dtype claiming a 2 GiB item size and alignment",
        ok(),
    )
    add(
        "numpy_dtype_forged_U_elsize.p",
        th.wrap(th.np_scalar(th.dtype("U1", state(elsize=2**30)), th.by(b"a\0\0\0")), protocol=3),
        "numpy U dtype whose state claims 1 GiB items, with a 4-byte payload",
        err("wrong length"),
    )
    add(
        "numpy_dtype_fields_offsets.p",
        th.wrap(
            th.np_scalar(
                th.dtype(
                    "V16",
                    state(
                        order="|",
                        names=b"(" + th.bu("a") + b"t",
                        fields=b"}" + th.bu("a") + th.dtype("f8") + th.pint(2**40) + b"\x86s",
                        elsize=16,
                    ),
                ),
                th.by(bytes(16)),
            ),
            protocol=3,
        ),
        "structured numpy dtype whose field offset points 1 TiB past the item",
        err("numpy dtype kind 'V'"),
    )
    add(
        "numpy_dtype_bad_datetime_unit.p",
        th.wrap(th.np_scalar(th.dtype("M8[zz]"), th.by(bytes(8))), protocol=3),
        "numpy datetime64 dtype with a unit numpy does not know",
        err("not a readable pickle"),
    )
    add(
        "numpy2_scalar_object_dtype.p",
        th.wrap(
            th.sg("numpy._core.multiarray", "scalar")
            + th.sg("numpy", "dtype")
            + th.sbu("O8")
            + b"\x89\x88\x87R"
            + th.sg("os", "system")
            + th.sbu(TOUCH)
            + b"\x85R\x86R",
            protocol=4,
        ),
        "numpy 2 object scalar whose payload is an os.system call",
        err("numpy dtype kind 'O'"),
    )
    add(
        "numpy_p5_next_buffer.p",
        th.wrap(
            th.sg("numpy._core.numeric", "_frombuffer")
            + b"(\x97"
            + th.dtype("f8")
            + th.pint(1)
            + b"\x85"
            + th.sbu("C")
            + b"tR",
            protocol=5,
        ),
        "protocol 5 NEXT_BUFFER (out-of-band data) into numpy _frombuffer",
        err("out-of-band"),
    )


def resource_exhaustion() -> None:
    add(
        "memo_long_binput_huge.p",
        b"]r\xff\xff\xff\x7f.",
        "]r....: LONG_BINPUT with index 2**31-1 (CPython resizes its memo to ~16 GiB)",
        err(""),
    )
    add(
        "memo_long_binput_replace.p",
        b"]replace.",
        "the 9-byte ']replace.' memo bomb",
        err(""),
    )
    add(
        "memo_long_binget_huge.p",
        th.wrap(b"j\xff\xff\xff\x7f", protocol=2),
        "LONG_BINGET of a memo index never stored",
        err("not a readable pickle"),
    )
    add(
        "binbytes8_huge_length.p",
        th.wrap(b"\x8e" + struct.pack("<Q", 2**62), protocol=4),
        "BINBYTES8 with a 2**62 length prefix (allocated before reading)",
        err(""),
    )
    add(
        "binbytes8_3gib_length.p",
        th.wrap(b"\x8e" + struct.pack("<Q", 3 << 30) + bytes(64), protocol=4),
        "BINBYTES8 claiming 3 GiB, 64 bytes present",
        err(""),
    )
    add(
        "binunicode8_huge_length.p",
        th.wrap(b"\x8d" + struct.pack("<Q", 2**62) + b"abc", protocol=4),
        "BINUNICODE8 with a 2**62 length prefix",
        err(""),
    )
    add(
        "bytearray8_huge_length.p",
        th.wrap(b"\x96" + struct.pack("<Q", 2**40), protocol=5),
        "BYTEARRAY8 with a 1 TiB length prefix",
        err("more memory than allowed"),
    )
    add(
        "long4_huge_length.p",
        th.wrap(b"\x8b" + struct.pack("<i", 2**31 - 1) + b"\x01", protocol=2),
        "LONG4 claiming a 2 GiB integer",
        err(""),
    )
    add(
        "frame_huge_length.p",
        b"\x80\x04\x95" + struct.pack("<Q", 2**62) + th.wrap(b"N"),
        "protocol 4 FRAME with a 2**62 length",
        err(""),
    )
    laughs = th._billion_laughs_list()
    add(
        "billion_laughs_result.p",
        th.wrap(laughs, protocol=2),
        "memo 'billion laughs' (10**30 list references) in a result value",
        ok(),
    )
    add(
        "billion_laughs_loss.p",
        th.wrap(b"N", protocol=2, loss=laughs),
        "memo 'billion laughs' as the loss",
        ok(),
    )
    add(
        "billion_laughs_vals.p",
        th.header(2)
        + b"(l(dVresult\n(dVloss\nF1.0\nsVstatus\nVok\nssVmisc\n(dVtid\nI0\nsVvals\n(dVx\n"
        + laughs
        + b"sssa.",
        "memo 'billion laughs' as a parameter's value list",
        ok(),
    )
    add(
        "deep_lists_1e5_result.p",
        th.wrap(nested_lists(100_000), protocol=2),
        "10**5-deep nested lists in a result value",
        ok(),
    )
    add(
        "deep_tuples_1e5_loss.p",
        th.wrap(b"N", protocol=2, loss=b"]" + b"\x85" * 100_000),
        "10**5-deep nested tuples as the loss",
        ok(),
    )
    add(
        "deep_dicts_1e5_misc.p",
        th.header(2)
        + b"(l(dVresult\n(dVloss\nF1.0\nsVstatus\nVok\nssVmisc\n(dVtid\nI0\nsVvals\n(dsVdeep\n"
        + nested_dicts(100_000)
        + b"ssa.",
        "10**5-deep nested dicts in a trial's misc",
        ok(),
    )
    add(
        "deep_lists_1e5_toplevel.p",
        th.bare(nested_lists(100_000), 2),
        "10**5-deep nested lists as the whole file",
        err(NOT_A_STUDY),
    )
    add(
        "hash_collisions_20k.p",
        th.wrap(colliding_int_dict(20_000), protocol=2),
        "20,000 int keys that all hash to 0 (quadratic dict inserts: ~1.6 s)",
        ok(),
    )


def params_not_numbers() -> None:
    def doc(value, tid: int) -> dict:
        vals = {"x": [value]}
        result = {"loss": 1.0, "status": "ok"}
        return {"tid": tid, "state": 2, "result": result, "misc": {"tid": tid, "vals": vals}}

    for name, value in (("str", "a"), ("list", [1.0]), ("huge_int", 10**400)):
        add(
            f"param_value_{name}.p",
            pickle.dumps([doc(value, 0), doc(1.0, 1)], protocol=4),
            f"a list of trial documents where one parameter value is a {name}",
            ok(n_trials=2),
        )


def hidden_in_trials(trials) -> None:
    for protocol in (0, 2, 4, 5):
        evil = copy.deepcopy(trials)
        evil._dynamic_trials[2]["result"]["note"] = system("posix")
        evil.attachments["evil"] = system("os")
        add(
            f"trials_hidden_result_and_attachment_p{protocol}.p",
            hostile_dump(evil, protocol),
            "a real fmin Trials with os.system calls in a result dict and in attachments",
            ok({"posix.system": 1, "os.system": 1}, n_trials=5),
        )
    evil = copy.deepcopy(trials)
    evil._dynamic_trials[3]["result"]["loss"] = call("builtins", "eval", "0.0")
    add(
        "trials_hidden_loss_p4.p",
        hostile_dump(evil, 4),
        "a real Trials whose fourth loss is an eval call",
        ok({"builtins.eval": 1}, n_trials=5),
    )
    evil = copy.deepcopy(trials)
    evil._dynamic_trials[1]["misc"]["vals"]["x"] = [system("subprocess")]
    add(
        "trials_hidden_vals_p4.p",
        hostile_dump(evil, 4),
        "a real Trials with a subprocess.system call as a parameter value",
        ok({"subprocess.system": 1}, n_trials=5),
    )
    evil = copy.deepcopy(trials)
    evil.attachments["FMinIter_Domain"] = call("_pickle", "loads", th._inner(MARKER))
    add(
        "trials_nested_pickle_attachment_p4.p",
        hostile_dump(evil, 4),
        "a real Trials whose attachment is pickle.loads of a pickle that runs os.system",
        ok({"_pickle.loads": 1}, n_trials=5),
    )
    evil = copy.deepcopy(trials)
    evil._dynamic_trials[0]["result"]["loss"] = call(
        "numpy.core.multiarray",
        "scalar",
        call("numpy", "dtype", "O8", False, True),
        system("os"),
    )
    add(
        "trials_numpy_object_scalar_loss_p2.p",
        hostile_dump(evil, 2),
        "a real Trials whose first loss is a numpy object scalar built by os.system",
        err("numpy dtype kind 'O'"),
    )


def compression(valid: bytes) -> None:
    # 8 GiB + 64 MiB of zeros in 6.8 kB: over sniff.MAX_DECOMPRESSED (2 GiB)
    add(
        "bomb_bz2_8gib.p.bz2",
        compressed_zeros(bz2.BZ2Compressor(9), (8 << 30) + (64 << 20)),
        "bz2 decompression bomb: 8.06 GiB of zeros in 7 kB (over the 2 GiB cap)",
        err("decompression bomb"),
    )
    # a moderate gzip bomb: a valid Trials followed by 512 MiB of zeros
    add(
        "bomb_gzip_512mib_trailing.p.gz",
        compressed_zeros(zlib.compressobj(9, wbits=31), 512 << 20, prefix=valid),
        "gzip bomb under the cap: a valid Trials then 512 MiB of zeros (0.5 MB file)",
        ok(n_trials=5),
    )
    add(
        "gzip_of_hostile_trials.p.gz",
        gzip.compress(th.wrap(th._popen_p4(MARKER), protocol=4)),
        "gzip-compressed pickle with a subprocess.Popen payload",
        ok({"subprocess.Popen": 1}),
    )


def stand_ins() -> None:
    add(
        "trials_standin_called_with_args.p",
        th.bare(th.g0("hyperopt.base", "Trials") + th.bu(TOUCH) + b"\x85R", 2),
        "hyperopt.base.Trials called with arguments (stand-in must not run hyperopt code)",
        err("not a readable pickle"),
    )
    add(
        "build_on_standin_class.p",
        th.bare(th.g0("hyperopt.base", "Trials") + b"}" + th.bu("_dynamic_trials") + b"]sb", 2),
        "BUILD on the Trials stand-in class itself (process-wide class mutation)",
        err(""),
    )
    add(
        "trials_subclass_dotted.p",
        th.wrap(th.g0("hyperopt", "base.Trials") + b")R", protocol=2),
        "a dotted Trials name (hyperopt + 'base.Trials') must not resolve to the stand-in",
        ok({"hyperopt.base.Trials": 1}),
    )


# --------------------------------------------------------------------------- round 2 (#14)
# Generators for tests/hostile/test_round2.py: small files built on the fly in a temporary
# folder (not committed, not in the manifest). Each returns bytes or writes into ``folder``.


def bson_doc(body: bytes) -> bytes:
    """One BSON document around ``body`` (elements), with its length and final NUL."""
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def bson_negative_binary() -> bytes:
    """A binary element whose length is negative: the old decoder stepped back onto it."""
    return bson_doc(b"\x05a\x00" + struct.pack("<i", -8) + b"\x00")


def bson_negative_binary_in_array() -> bytes:
    """The same inside an array: the old loop appended forever (memory grew by GBs)."""
    inner = bson_doc(b"\x050\x00" + struct.pack("<i", -8) + b"\x00")
    return bson_doc(b"\x04a\x00" + inner)


def bson_bogus_lengths() -> list[bytes]:
    """Strings, documents and binaries with lengths that are negative, zero or too big."""
    out = [bson_negative_binary(), bson_negative_binary_in_array()]
    for kind in (b"\x02", b"\x03", b"\x04", b"\x05"):
        for length in (-(2**31), -5, -1, 0, 3, 2**31 - 1):
            out.append(bson_doc(kind + b"k\x00" + struct.pack("<i", length) + b"\x00" * 6))
    out.append(struct.pack("<i", -20) + b"\x00" * 16)
    out.append(bson_doc(b"\x09t\x00" + struct.pack("<q", 2**62)))  # a time past year 9999
    return out


OPTUNA_TABLES = """
CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name VARCHAR(512) NOT NULL);
CREATE TABLE study_directions (study_direction_id INTEGER PRIMARY KEY, direction VARCHAR(8),
    study_id INTEGER, objective INTEGER);
CREATE TABLE trials (trial_id INTEGER PRIMARY KEY, number INTEGER, study_id INTEGER,
    state VARCHAR(8) NOT NULL, datetime_start DATETIME, datetime_complete DATETIME);
CREATE TABLE trial_params (param_id INTEGER PRIMARY KEY, trial_id INTEGER,
    param_name VARCHAR(512), param_value FLOAT, distribution_json TEXT);
CREATE TABLE trial_values (trial_value_id INTEGER PRIMARY KEY, trial_id INTEGER,
    objective INTEGER, value FLOAT, value_type VARCHAR(7));
"""
UNIFORM = '{"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 1.0, "log": false}}'


def optuna_storage(
    path: Path, name: str = "demo", n_trials: int = 3, sql: str = "", tables: str = OPTUNA_TABLES
) -> Path:
    """A minimal Optuna storage: one study of ``n_trials`` COMPLETE trials with ``x``."""
    import sqlite3

    con = sqlite3.connect(path)
    con.executescript(tables)
    if "CREATE VIEW studies" not in sql:
        con.execute("INSERT INTO studies VALUES (1, ?)", (name,))
    if "CREATE VIEW study_directions" not in sql:
        con.execute("INSERT INTO study_directions VALUES (1, 'MINIMIZE', 1, 0)")
    for i in range(n_trials if "CREATE VIEW trials" not in sql else 0):
        con.execute(
            "INSERT INTO trials VALUES (?, ?, 1, 'COMPLETE', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:01')",
            (i + 1, i),
        )
        if "CREATE VIEW trial_params" not in sql:
            con.execute(
                "INSERT INTO trial_params VALUES (?, ?, 'x', ?, ?)", (i + 1, i + 1, i / 10, UNIFORM)
            )
        con.execute("INSERT INTO trial_values VALUES (?, ?, 0, ?, 'FINITE')", (i + 1, i + 1, i))
    con.executescript(sql)
    con.commit()
    con.close()
    return path


# A table replaced by a view: endless (recursive CTE), or a huge cross product.
ENDLESS_STUDIES = (
    "DROP TABLE studies; CREATE VIEW studies AS WITH RECURSIVE c(x) AS"
    " (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS study_id, 'a' AS study_name"
    " FROM c WHERE x < 0;"
)
CROSS_PARAMS = (
    "CREATE TABLE names (n TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
    " FROM c WHERE x < 3000) INSERT INTO names SELECT 'p' || x FROM c;"
    " DROP TABLE trial_params; CREATE VIEW trial_params AS SELECT t.trial_id AS trial_id,"
    " n.n AS param_name, 0.5 AS param_value, '" + UNIFORM + "' AS distribution_json"
    " FROM trials t, names n;"
)


def optuna_with_leftover_wal(folder: Path) -> tuple[Path, object]:
    """``victim.db`` with committed trials still in ``victim.db-wal`` (a writer is open).

    Returns the path and the open connection (close it after the test); until then the
    WAL holds trials the main file does not.
    """
    import sqlite3

    path = optuna_storage(folder / "victim.db", name="victim", n_trials=2)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("INSERT INTO trials VALUES (10, 2, 1, 'COMPLETE', '2026-01-01 00:00:00', NULL)")
    con.execute("INSERT INTO trial_params VALUES (10, 10, 'x', 0.9, ?)", (UNIFORM,))
    con.execute("INSERT INTO trial_values VALUES (10, 10, 0, 0.5, 'FINITE')")
    con.commit()
    return path, con


def optuna_bad_distributions() -> list[str]:
    """``distribution_json`` values Optuna never writes."""
    return [
        "not json",
        "[1, 2]",
        '{"name": "FloatDistribution", "attributes": {"low": "a", "high": 1}}',
        '{"name": "FloatDistribution", "attributes": {"low": 1, "high": 0}}',
        '{"name": "FloatDistribution", "attributes": {"low": 0, "high": 1, "log": true}}',
        '{"name": "FloatDistribution", "attributes": {"low": 0, "high": 1e999}}',
        '{"name": "IntDistribution", "attributes": {"low": 0, "high": 5, "step": -1}}',
        '{"name": "CategoricalDistribution", "attributes": {"choices": 7}}',
        '{"name": "FloatDistribution", "attributes": 3}',
        "[" * 100000,
    ]


# Text an attacker controls: labels, failure messages and result keys of a real fmin study.
WRAP_PAD = "w " * 37  # makes word wrapping start a line with what follows, at 80 columns
HOSTILE_LABELS = (
    "[/x]",
    "[link=https://evil.example/]lr[/link]",
    "[conceal]secret[/conceal]",
    WRAP_PAD + "::error title=pwned::from a label",
    "a::add-mask::b",
    "esc\x1b]52;c;cHduZWQ=\x07\x1b[2Jx",
    ":smile: ##[warning]x",
    "$\\frac{a}{$",
    '=HYPERLINK("http://evil")',
    "a/b",
    "a:b",
    "L" * 300,
)
HOSTILE_MESSAGES = (
    "[/bold] broken [link=https://evil.example/]click[/link] [conceal]hidden",
    WRAP_PAD + "::error file=x.py,line=1::pwned by a failure reason",
    "[/b] [conceal]bell\x07 and \x1b[31mred\x1b[0m and"
    " \x1b]8;;https://evil\x07osc8\x1b]8;;\x07 \x9b2J",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)


def hostile_text_trials(n: int = 24):
    """A real ``fmin`` study whose labels and failure messages are hostile text."""
    import numpy as np
    from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, rand

    space = {label: hp.uniform(label, 0, 1) for label in HOSTILE_LABELS}

    def objective(p):
        x = p[HOSTILE_LABELS[0]]
        if x < 0.3:
            i = int(x * 100) % len(HOSTILE_MESSAGES)
            return {"status": STATUS_FAIL, "failure": HOSTILE_MESSAGES[i]}
        if x > 0.85:
            raise ValueError(HOSTILE_MESSAGES[int(x * 100) % len(HOSTILE_MESSAGES)])
        return {"status": STATUS_OK, "loss": x}

    trials = Trials()
    fmin(
        objective,
        space,
        algo=rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(3),
        show_progressbar=False,
        catch_eval_exceptions=True,
    )
    return trials


def _pstr(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def bytes_with_codec(codec: str, n: int = 88_000, module: str = "builtins") -> bytes:
    """``bytes(s, codec)`` (or ``_codecs.encode``) on ``n`` characters; punycode is quadratic."""
    name = b"bytes" if module == "builtins" else b"encode"
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(n))
    return (
        b"\x80\x02c" + module.encode() + b"\n" + name + b"\n"
        + _pstr(text) + _pstr(codec) + b"\x86R."
    )  # fmt: skip


def experiment_view_trials():
    """``trials.view(exp_key='b')`` of a Trials shared by two experiments (5 + 8 trials)."""
    from conftest import run_fmin
    from hyperopt import Trials, hp

    trials = Trials(exp_key="a")
    run_fmin(lambda x: x, hp.uniform("x", 0, 1), 5, trials=trials)
    view = trials.view(exp_key="b")
    run_fmin(lambda x: x + 10, hp.uniform("x", 0, 1), 8, trials=view, seed=1)
    return view


def _body(obj) -> bytes:
    """``obj`` pickled without memo or frame (protocol 2), to splice between opcodes."""
    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=2)
    pickler.fast = True  # no memo: bodies can be concatenated
    pickler.dump(obj)
    return buf.getvalue()[2:-1]


def trials_build_variants() -> dict[str, bytes]:
    """A Trials whose state comes as ``(dict, slotstate)`` or in two BUILDs.

    Plain pickle updates ``__dict__`` with the dict, then sets each slot item as an
    attribute (for Trials, into ``__dict__`` too); a second BUILD updates it again.
    """
    trials = fmin_trials()
    state = dict(vars(trials))
    docs = state["_dynamic_trials"]
    head = b"\x80\x02chyperopt.base\nTrials\n)\x81"
    first = {**state, "_dynamic_trials": docs[:2]}
    return {
        "dict_then_slots": head + _body((first, {"_dynamic_trials": docs[:4]})) + b"b.",
        "none_then_slots": head + _body((None, {**state, "_dynamic_trials": docs[:3]})) + b"b.",
        "two_builds": head + _body(first) + b"b" + _body({"_exp_key": None}) + b"b.",
    }


def ordered_dict_shadowing_result() -> bytes:
    """A trial whose result is an OrderedDict with instance attributes ``get`` and ``keys``."""
    from collections import OrderedDict

    trials = fmin_trials()
    docs = copy.deepcopy(trials._dynamic_trials)
    result = OrderedDict(status="ok", loss=0.125)
    result.get = "shadow"
    result.keys = "shadow"
    docs[0]["result"] = result
    return pickle.dumps(docs, protocol=2)


def float_and_huge_tids() -> bytes:
    trials = fmin_trials()
    docs = copy.deepcopy(trials._dynamic_trials)
    docs[1]["tid"] = 1.7
    docs[1]["misc"]["tid"] = 1.7
    docs[2]["tid"] = 10**5000
    docs[3]["result"]["loss"] = 10**5000
    docs[4]["misc"]["vals"]["x"] = [10**5000]
    docs[0]["result"]["big"] = 10**5000  # an extra result value, exported
    docs[0]["result"]["nested"] = {"a": [10**5000]}
    return pickle.dumps(docs, protocol=4)


def cancelled_best() -> bytes:
    """A CANCEL-state document with status ok and the lowest loss (trials.trials omits it)."""
    trials = fmin_trials()
    docs = copy.deepcopy(trials._dynamic_trials)
    docs[2]["state"] = 4
    docs[2]["result"] = {"status": "ok", "loss": -100.0}
    return pickle.dumps(docs, protocol=4)


def _doc(tid: int, misc: dict, result: dict) -> dict:
    return {"tid": tid, "state": 2, "misc": misc, "result": result, "exp_key": None,
            "owner": None, "version": 0, "spec": None, "book_time": None,
            "refresh_time": None}  # fmt: skip


def shared_misc(n_docs: int = 8000, n_labels: int = 8000) -> bytes:
    """Every document shares one ``misc`` with ``n_labels`` labels (pickle's memo)."""
    misc = {"tid": 0, "cmd": None, "idxs": {}, "vals": {f"p{i}": [0.5] for i in range(n_labels)}}
    docs = [_doc(i, misc, {"status": "ok", "loss": 1.0}) for i in range(n_docs)]
    return gzip.compress(pickle.dumps(docs, protocol=4))


def shared_result_value(n_docs: int = 4000, n_nodes: int = 20_000) -> bytes:
    """One ``n_nodes``-node result value shared by every document."""
    big = [{"k": [i, i + 1]} for i in range(n_nodes // 3)]
    docs = [
        _doc(i, {"tid": i, "idxs": {"x": [i]}, "vals": {"x": [i / n_docs]}},
             {"status": "ok", "loss": i / n_docs, "big": big})
        for i in range(n_docs)
    ]  # fmt: skip
    return pickle.dumps(docs, protocol=4)


def billion_laughs(levels: int = 60):
    """Nested frozensets, each level holding the previous one twice: 2**levels leaves."""
    value = frozenset({0})
    for i in range(levels):
        value = frozenset({value, (value, i)})
    return value


def laughs_in_result_and_attachment() -> bytes:
    trials = fmin_trials()
    state = dict(vars(trials))
    docs = copy.deepcopy(state["_dynamic_trials"])
    laughs = billion_laughs()
    docs[0]["result"]["extra"] = {laughs}
    docs[1]["result"][laughs] = 1
    docs[2]["misc"]["vals"][laughs] = [0.5]
    head = b"\x80\x02chyperopt.base\nTrials\n)\x81"
    body = {**state, "_dynamic_trials": docs, "_trials": None, "attachments": {laughs: b"x"}}
    buf = io.BytesIO()
    pickle.Pickler(buf, protocol=2).dump(body)
    return head + buf.getvalue()[2:-1] + b"b."


def json_edge_values() -> bytes:
    """JSON trial documents with the values that made internal errors: ±1e308 losses,
    mixed naive/aware times, ``{"$date": NaN}``, a 5000-digit integer, huge and float tids."""

    def doc(tid, loss, x, book, refresh):
        return {"tid": tid, "state": 2, "result": {"status": "ok", "loss": loss},
                "misc": {"tid": tid, "idxs": {"x": [tid]}, "vals": {"x": [x]}},
                "book_time": book, "refresh_time": refresh}  # fmt: skip

    docs = [
        doc(0, 1e308, 0.5, "2026-01-01T00:00:00", "2026-01-01T00:00:01"),
        doc(1, -1e308, 1e308, "2026-01-01T00:00:02+05:00", "2026-01-01T00:00:03Z"),
        doc(2, 1e308, -1e308, {"$date": float("nan")}, {"$date": 1e300}),
        doc(3, 0.5, 0.25, {"$date": "9999-12-31T23:59:59Z"}, {"$date": -1e20}),
        doc(4, 0.25, 0.1, "0001-01-01T00:00:00", "9999-12-31T23:59:59"),
    ]
    text = json.dumps(docs)
    text = text.replace('"loss": 0.25', '"loss": 1' + "0" * 5000, 1)
    return text.replace("NaN", "NaN").encode()


def datetime64_results() -> bytes:
    """Plain documents whose results hold a numpy datetime64 (numpy needed, no arrays)."""
    import numpy as np

    docs = copy.deepcopy(fmin_trials()._dynamic_trials)
    for d in docs:
        d["result"] = {"status": "ok", "loss": float(d["result"]["loss"]),
                       "when": np.datetime64("2020-01-01")}  # fmt: skip
        d["misc"]["vals"] = {k: [float(x) for x in v] for k, v in d["misc"]["vals"].items()}
    return pickle.dumps(docs, protocol=4)


def main() -> None:
    FILES.mkdir(exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    trials = fmin_trials()
    valid = pickle.dumps(trials, protocol=4)
    add(VALID, valid, "nothing: a valid 5-trial fmin(rand.suggest) study", ok(n_trials=5))
    code_execution()
    numpy_forgeries()
    resource_exhaustion()
    hidden_in_trials(trials)
    params_not_numbers()
    stand_ins()
    compression(valid)
    manifest = {
        "marker": str(MARKER),
        "valid": VALID,
        "files": ENTRIES,
    }
    (FILES / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in FILES.iterdir())
    print(f"{len(ENTRIES)} files, {total / 1e6:.2f} MB in {FILES}")


if __name__ == "__main__":
    main()
