"""File → Study. Safe by default: nothing in the file runs unless ``trust=True``.

Loading never imports hyperopt and prints nothing; every failure is an ``InputError``
with a one-line message.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
from collections.abc import Mapping
from dataclasses import replace
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..study import Source, Study, Trial, _text, fields_from_doc, labels_in_order
from .bsondocs import docs_from_bson, looks_like_bson
from .compact import pack, unpack
from .containers import (
    Entry,
    SeveralStudiesError,
    find_studies,
    held_as,
    listing,
    not_found_error,
    select,
    several_error,
)
from .jsondocs import docs_from_json
from .optuna_db import is_optuna_db, load_optuna
from .plain import DocBudget, PlainConverter, describe, docs_of_experiment, key_text, unbox
from .results import CONTAINER as RESULTS_CONTAINER
from .results import docs_from_results, is_results_list
from .safe_pickle import (
    BlockedGlobalError,
    LoadedPickle,
    TrialsStandIn,
    UnsafePickleError,
    safe_loads,
    trusted_loads,
)
from .sniff import content_kind, pickle_protocol, read_file
from .writer import OpcodeScan, has_plain_values, known_object, scan_opcodes, writer_hints

__all__ = ["SeveralStudiesError", "load_study"]

_TRUNCATED_MESSAGES = ("Ran out of input", "pickle data was truncated", "truncated")


def load_study(
    path: str | Path,
    *,
    trust: bool = False,
    strict: bool = False,
    max_memory: int | None = None,
    study_name: str | None = None,
    compact: bool = True,
) -> Study:
    """Load a hyperopt study from ``path``.

    Accepts pickled ``Trials`` (any protocol, hyperopt 0.1-0.3, numpy 1 or 2, gzip/bz2/xz
    compressed, ``fmin(trials_save_file=...)`` files), a pickled dict holding the Trials
    under ``"trials"``, a pickled list of trial documents, JSON lists of documents, and
    lists of ``trials.results`` dicts. A dict, list or nested dicts of several studies
    needs ``study_name`` (a key, an index, or a path ``outer/inner``); without it,
    ``SeveralStudiesError`` (an ``InputError``) lists them.

    ``trust=True`` uses plain pickle (runs code from the file: only for your own files).
    ``strict=True`` refuses any class that is not on the allow-list instead of loading it
    as an inert placeholder. ``max_memory`` (bytes) bounds what unpickling may allocate.
    ``compact`` rebuilds the trials once the loaded object is freed, so that the memory
    unpickling used goes back to the system (``compact.py``; about 0.4 s per 100k trials);
    without it the process keeps most of the load's peak for good.
    An Optuna SQLite storage is read too (``study_name`` picks the study); its search space
    comes with it (``study.space``); ``study_name`` picks the study there too.
    """
    from ..lazy_imports import defer_hyperopt_extras

    defer_hyperopt_extras()  # before anything (a --space tuner.py, TPE) imports hyperopt
    path = Path(path)
    if trust and strict:
        raise InputError("--trust and --strict contradict each other: choose one")
    if is_optuna_db(path):
        study, space = load_optuna(path, study_name)
        return replace(study, space=space)
    with _collector_paused():
        pending = _load(
            path,
            trust=trust,
            strict=strict,
            max_memory=max_memory,
            study_name=study_name,
            compact=compact,
        )
        return pending()  # the loaded object is gone by now: the trials get memory of their own


@contextlib.contextmanager
def _collector_paused():
    """No cyclic GC while millions of containers are created (none of them are garbage).

    With 200k trials the collector's repeated full passes cost more than the unpickling.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(
    path: Path,
    *,
    trust: bool,
    strict: bool,
    max_memory: int | None,
    study_name: str | None,
    compact: bool = True,
) -> _Pending:
    raw = read_file(path)
    kind = content_kind(raw.data)
    if kind != "pickle" and study_name is not None:
        raise InputError(f"--study {study_name}: {path} holds one study, not several; drop --study")
    if kind == "json":
        if not raw.complete:
            raw = read_file(path, whole=True)
        warnings: list[str] = []
        try:
            docs, container = docs_from_json(path, raw.data)
            if is_results_list(docs):  # {"trials": [results dicts]}
                docs, warnings = docs_from_results(docs)
                container = f"JSON object with 'trials': {RESULTS_CONTAINER}"
        except InputError:
            results = _json_results(raw.data)
            if results is None:
                raise
            docs, warnings = docs_from_results(results)
            container = f"JSON {RESULTS_CONTAINER}"
        source = Source(
            path=str(path),
            format="json",
            container=container,
            compression=raw.compression,
            size_bytes=raw.size_bytes,
            warnings=tuple(warnings),
        )
        return _study_from_docs(
            docs, source, exp_key=None, attachments=(), placeholders={}, compact=compact
        )
    if kind == "unknown" and looks_like_bson(raw.data):
        if not raw.complete:
            raw = read_file(path, whole=True)
        source = Source(
            path=str(path),
            format="bson",
            container="mongodump BSON documents",
            compression=raw.compression,
            size_bytes=raw.size_bytes,
        )
        docs = docs_from_bson(path, raw.data)
        return _study_from_docs(
            docs, source, exp_key=None, attachments=(), placeholders={}, compact=compact
        )
    if kind != "pickle":
        what = "an unrecognised binary file" if kind == "unknown" else kind
        raise InputError(
            f"{path}: not a pickle or JSON file; it looks like {what}."
            " Pass the file you saved with pickle.dump(trials, ...)"
        )
    scan = scan_opcodes(raw.data)
    protocol = pickle_protocol(raw.data)
    if protocol is None:  # Python 2's byte strings stop pickletools; the scan reads past them
        protocol = scan.newest_protocol
    content = raw.data if raw.complete else path  # big plain pickles stream from the file
    compression, size_bytes = raw.compression, raw.size_bytes
    del raw  # the (decompressed) bytes are not needed once unpickled
    loaded = _unpickle(path, content, trust=trust, strict=strict, max_memory=max_memory, scan=scan)
    del content
    try:
        docs, container, extras = _find_trial_docs(path, loaded.obj, study_name, scan)
    except SeveralStudiesError as exc:
        exc.path = str(path)
        exc.load = lambda entry: _entry_study(path, entry, protocol, size_bytes, loaded)
        raise
    hints = writer_hints(
        loaded.globals_seen,
        protocol,
        scan,
        plain_values=has_plain_values(docs),
        container=container,
        trusted=trust,
    )
    docs, other_experiments = docs_of_experiment(docs, extras.get("exp_key"))
    if other_experiments:  # a pickled trials.view(exp_key=...): what its .trials holds
        hints.append(
            f"a view of experiment {_text(extras['exp_key'], 80)!r}: {other_experiments}"
            " documents of other experiments left out, as hyperopt's trials.trials does"
        )
    if extras.get("ray_mode") == "max":
        hints.append(
            "Ray Tune ran with mode='max': it stores losses negated (loss = -score),"
            " so the best trial has the lowest loss here"
        )
    warnings: list[str] = list(extras.get("warnings", ()))
    if loaded.trailing_bytes:
        warnings.append(
            f"{loaded.trailing_bytes} bytes follow the end of the pickle and were ignored"
        )
    source = Source(
        path=str(path),
        format="pickle",
        container=container,
        protocol=protocol,
        compression=compression,
        size_bytes=size_bytes,
        trials_class=extras.get("trials_class"),
        writer_hints=tuple(hints),
        warnings=tuple(warnings),
        trusted=trust,
    )
    return _study_from_docs(
        docs,
        source,
        exp_key=extras.get("exp_key"),
        attachments=tuple(extras.get("attachments", ())),
        placeholders=loaded.placeholder_counts,
        space=extras.get("space"),
        unbox_arrays=loaded.array_boxes > 0,  # under --trust arrays are real already
        compact=compact and not trust,  # marshal writes numpy scalars (buffers) as bytes
    )


def _entry_study(
    path: Path, entry: Entry, protocol: int | None, size_bytes: int, loaded: LoadedPickle
) -> Study:
    """One study of a file that holds several (for ``summary``'s listing)."""
    docs, container, extras = _find_trial_docs(path, entry.obj)
    source = Source(
        path=str(path),
        format="pickle",
        container=container,
        protocol=protocol,
        size_bytes=size_bytes,
        trials_class=extras.get("trials_class"),
        warnings=tuple(extras.get("warnings", ())),
    )
    return _study_from_docs(
        list(docs),
        source,
        exp_key=extras.get("exp_key"),
        attachments=(),
        placeholders={},
        unbox_arrays=loaded.array_boxes > 0,
    )()


def _json_results(data: bytes) -> list[Any] | None:
    """The parsed JSON when it is a list of trials.results dicts, else None."""
    import json

    try:
        obj = json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return obj if is_results_list(obj) else None


def _unpickle(
    path: Path,
    data: bytes | Path,
    *,
    trust: bool,
    strict: bool,
    max_memory: int | None,
    scan: OpcodeScan | None = None,
) -> LoadedPickle:
    what = known_object(scan)
    try:
        if trust:
            return trusted_loads(data)
        return safe_loads(data, strict=strict, max_memory=max_memory)
    except BlockedGlobalError as exc:
        raise InputError(
            f"{path}: refers to {exc.module}.{exc.name}, which --strict refuses;"
            " without --strict it loads as an inert placeholder"
        ) from exc
    except UnsafePickleError as exc:
        if what is not None:
            raise _not_a_study(path, what) from exc
        raise InputError(f"{path}: refused to load: {exc}") from exc
    except EOFError as exc:
        raise InputError(
            f"{path}: the file is incomplete (it may still be being written; try again"
            " when the run has saved it)"
        ) from exc
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if any(m in message for m in _TRUNCATED_MESSAGES):
            raise InputError(
                f"{path}: the file is incomplete (it may still be being written; try again"
                " when the run has saved it)"
            ) from exc
        raise InputError(f"{path}: not a readable pickle ({message})") from exc
    except MemoryError as exc:
        raise InputError(
            f"{path}: unpickling needs more memory than allowed; if you trust the file's size,"
            " raise --max-memory"
        ) from exc
    except (ModuleNotFoundError, AttributeError) as exc:
        if trust:
            raise InputError(
                f"{path}: --trust could not rebuild an object ({exc}); install the module the"
                " file needs, or load without --trust"
            ) from exc
        raise InputError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:
        raise InputError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from exc


def _trials_state(obj: Any) -> dict[str, Any] | None:
    """The pickled ``__dict__`` of a Trials object: stand-in or (under --trust) real."""
    if isinstance(obj, TrialsStandIn):
        return getattr(obj, "state", {})
    if hasattr(obj, "_dynamic_trials") and type(obj).__name__.endswith("Trials"):
        return dict(vars(obj))
    return None


def _looks_like_doc(obj: Any) -> bool:
    return (type(obj) is dict or isinstance(obj, Mapping)) and "misc" in obj and "result" in obj


def _is_core(obj: Any) -> bool:
    """A Trials (stand-in or real), a list of trial documents, or a list of results dicts."""
    if _trials_state(obj) is not None:
        return True
    if isinstance(obj, (list, tuple)) and (not obj or _looks_like_doc(obj[0])):
        return isinstance(obj, list) or bool(obj)  # an empty tuple is no study
    return is_results_list(obj)


def _unwrap(obj: Any) -> tuple[Any, str, dict[str, Any]] | None:
    """(the Trials or document list, how it was held, extras), or None: not a study."""
    extras: dict[str, Any] = {}
    if isinstance(obj, Mapping) and "trials" in obj and _is_core(obj["trials"]):
        extras["space"] = obj.get("space")
        return obj["trials"], "dict['trials'] holding ", extras
    if isinstance(obj, Mapping) and "_hpopt_trials" in obj:  # Ray Tune's HyperOptSearch
        extras["space"] = obj.get("domain")
        extras["ray_mode"] = obj.get("_mode")
        return obj["_hpopt_trials"], "Ray Tune HyperOptSearch checkpoint holding ", extras
    if isinstance(obj, Mapping) and "hyperopt_trials" in obj:  # older Ray: a dict
        return obj["hyperopt_trials"], "Ray Tune checkpoint (older dict layout) holding ", extras
    if isinstance(obj, tuple) and len(obj) == 2 and _trials_state(obj[0]) is not None:
        return obj[0], "Ray Tune checkpoint (older tuple layout) holding ", extras  # older Ray
    if _is_core(obj):
        return obj, "", extras
    return None


def _count(obj: Any) -> int | None:
    """How many trial documents ``obj`` holds when it is a study, else None."""
    unwrapped = _unwrap(obj)
    if unwrapped is None:
        return None
    inner = unwrapped[0]
    state = _trials_state(inner)
    if state is not None:
        docs = state.get("_dynamic_trials")
        docs = state.get("_trials") if docs is None else docs
        return len(docs) if isinstance(docs, list) else 0
    return len(inner) if isinstance(inner, (list, tuple)) else 0


def _find_trial_docs(
    path: Path, obj: Any, study_name: str | None = None, scan: OpcodeScan | None = None
) -> tuple[list[Any], str, dict[str, Any]]:
    """Trial documents from whatever the pickle holds, and how they were held."""
    outer = ""
    containers = (Mapping, list, tuple)
    if study_name is not None:
        entries = find_studies(obj, _count) if isinstance(obj, containers) else []
        selected = select(obj, study_name) if isinstance(obj, containers) else None
        if selected is None:
            raise not_found_error(path, study_name, entries)
        target, key = selected
        if _count(target) is None:
            raise InputError(
                f"--study {key}: {describe(target)} there, not a study"
                + (f"; {path} holds {listing(entries)}" if entries else "")
            )
        obj, outer = target, held_as(obj, key)
    elif _unwrap(obj) is None and isinstance(obj, containers):
        entries = find_studies(obj, _count)
        if len(entries) > 1:
            raise several_error(path, obj, entries)
        if len(entries) == 1:
            outer = held_as(obj, entries[0].key)
            obj = entries[0].obj
    unwrapped = _unwrap(obj)
    if unwrapped is None:
        what = known_object(scan) if describe(obj).startswith("a ") else None
        raise _not_a_study(path, what or describe(obj))
    obj, how, extras = unwrapped
    outer += how
    state = _trials_state(obj)
    if state is not None:
        cls = getattr(obj, "class_name", None) or (
            f"{type(obj).__module__}.{type(obj).__qualname__}"
        )
        extras["trials_class"] = cls
        extras["exp_key"] = state.get("_exp_key")
        attachments = state.get("attachments")
        extras["attachments"] = (
            [key_text(k) for k in list(attachments)[:1000]] if isinstance(attachments, dict) else []
        )
        if isinstance(attachments, dict) and extras.get("space") is None:
            # MongoTrials (asynchronous fmin) keep the pickled Domain here; read as data later
            extras["space"] = attachments.get("FMinIter_Domain")
        docs = state.get("_dynamic_trials")
        if docs is None:
            docs = state.get("_trials")
        elif isinstance(state.get("_trials"), list):
            state["_trials"] = None  # the same documents again; drop them so they can be freed
        if not isinstance(docs, list):
            raise InputError(f"{path}: the {cls} object holds no list of trial documents")
        return docs, f"{outer}{cls.rsplit('.', 1)[-1]}", extras
    if is_results_list(obj):
        docs, extras["warnings"] = docs_from_results(list(obj))
        return docs, f"{outer}{RESULTS_CONTAINER}", extras
    return list(obj), f"{outer}list of trial documents", extras


def _not_a_study(path: Path, what: str) -> InputError:
    advice = " Pickle the Trials object you passed to fmin (pickle.dump(trials, f))"
    if what.startswith("a pandas"):
        advice += (
            "; if its rows are trials.results, df.to_json(FILE, orient='records') writes a"
            " file this tool reads"
        )
    return InputError(f"{path}: holds {what}, not a hyperopt study.{advice}")


def _study_from_docs(
    docs: list[Any],
    source: Source,
    *,
    exp_key: Any,
    attachments: tuple[str, ...],
    placeholders: Mapping[str, int],
    space: Any = None,
    unbox_arrays: bool = True,
    compact: bool = False,
) -> _Pending:
    records = []
    problems: list[str] = []
    plain = PlainConverter()  # shared values converted once, all values budgeted
    budget = DocBudget(source.path)
    for position in range(len(docs)):
        doc = docs[position]
        docs[position] = None  # converted documents are freed as we go: one copy at a time
        if not _looks_like_doc(doc):
            problems.append(f"item {position} is not a trial document ({describe(doc)})")
            continue
        budget.take(doc)
        try:
            fields, problem = fields_from_doc(_unboxed(doc) if unbox_arrays else doc, plain=plain)
        except Exception as exc:  # hostile documents: RecursionError, OverflowError, ...
            problems.append(f"trial document {position} is malformed ({type(exc).__name__})")
            continue
        if problem:
            problems.append(f"trial {fields[0]}: {problem}")
        records.append(fields)
    if docs and not records:
        raise InputError(f"{source.path}: no usable trial documents ({problems[0]})")
    records.sort(key=itemgetter(0))  # by tid
    if problems:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        )
        source = _with_warning(source, shown)
    blob = pack(records) if compact else None
    return _Pending(
        None if blob is not None else records,
        blob,
        source=source,
        exp_key=exp_key,
        attachments=attachments,
        placeholders=dict(placeholders),
        space=space,
    )


class _Pending:
    """A study read from a file, built when called (see ``compact``): by then the caller
    has dropped the loaded object, so the trials are allocated apart from its remains."""

    def __init__(self, records: list[tuple[Any, ...]] | None, blob: bytes | None, **fields: Any):
        self.records = records
        self.blob = blob
        self.fields = fields

    def __call__(self) -> Study:
        if self.blob is not None:
            trials = tuple(unpack(self.blob))
        else:
            trials = tuple(Trial(*r) for r in self.records or ())
        self.records = self.blob = None
        return Study(trials=trials, labels=labels_in_order(trials), **self.fields)


def _unboxed(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """Unbox the values the model reads directly: the loss and each parameter value."""
    result = doc.get("result")
    misc = doc.get("misc")
    if isinstance(result, Mapping) and "loss" in result:
        result = {**result, "loss": unbox(result["loss"])}
    if isinstance(misc, Mapping) and isinstance(misc.get("vals"), Mapping):
        vals = {
            k: [unbox(x) for x in v] if isinstance(v, (list, tuple)) else unbox(v)
            for k, v in misc["vals"].items()
        }
        misc = {**misc, "vals": vals}
    return {**doc, "result": result, "misc": misc}


def _with_warning(source: Source, warning: str) -> Source:
    return replace(source, warnings=(*source.warnings, warning))
