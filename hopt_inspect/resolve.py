"""Find the search space of a study: a Python hp space, a TOML spec, the file, or inference.

``--space`` accepts ``PATH.py:NAME`` or ``package.module:NAME`` (imports that code, as the
user's own tuner does), a TOML spec (``[space]`` then ``lr = "loguniform(-11.5, 0)"``), or a
pickled hp graph (``--trust`` only). Without ``--space``, a space stored beside the trials
(``{"trials": ..., "space": ...}``, loaded with ``--trust``) is used, else one is inferred
from the observed values and marked "inferred".
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import math
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError
from .space import KINDS, SIGNATURES, Param, SearchSpace
from .study import Study

_NAMES = {"true": True, "false": False, "True": True, "False": False, "None": None}
_MATH = {"log": math.log, "exp": math.exp, "log10": math.log10, "sqrt": math.sqrt}


def resolve_space(
    spec: str | None,
    study: Study,
    *,
    trust: bool = False,
    run_space: bool = False,
    n_startup_jobs: int | None = None,
    config: str | None = None,
) -> SearchSpace:
    """The search space for ``study``; its labels must match the trials' labels.

    Precedence: ``spec`` (``--space``, or the config's ``space =``), else a space stored
    with the trials, else one inferred from the observed values. Scripts are read
    statically; only ``run_space=True`` (the explicit ``--run-space`` flag, never a config
    key) imports them. ``config``: the config file ``spec`` came from (for its errors).
    """
    if spec is None:
        space = _space_from_file(study, trust, n_startup_jobs)
    else:
        space = space_from_spec(spec, trust=trust, run_space=run_space, config=config)
    check_labels(space, study)
    if not space.inferred:
        check_values(space, study)
    return space


def space_from_spec(
    spec: str, *, trust: bool = False, run_space: bool = False, config: str | None = None
) -> SearchSpace:
    """``--space S``: a TOML spec, a script read statically (or imported), a pickled space.

    ``config``: the config file whose ``space =`` named ``spec``; its errors say so and what
    to do there (a config never runs code, so ``--run-space`` is for the command line).
    """
    from .scriptspace import RUN_HINT, locate_module, read_script_space

    prefix = f"--space {spec}"
    hint = RUN_HINT
    if config is not None:
        prefix = f'{config}: space = "{spec}" in [tool.hopt-inspect]'
        hint = config_space_hint(spec)
    path = Path(spec)
    if spec.endswith(".toml"):
        return space_from_toml(path)
    if path.suffix == ".py" and path.is_file():  # FILE.py: the space passed to fmin
        if run_space:
            raise InputError(f"--space {spec}: --run-space needs the variable, as in {spec}:space")
        return read_script_space(path, None, spec=spec, prefix=prefix, hint=hint)
    if ":" in spec and not path.exists():
        if run_space:
            return space_from_python(spec)
        target, _, name = spec.rpartition(":")
        if not target or not name:
            raise InputError(f"{prefix}: expected FILE.py:NAME or package.module:NAME")
        if target.endswith(".py") or "/" in target:
            file = Path(target)
        else:
            found = locate_module(target)
            if found is None:
                raise InputError(
                    f"{prefix}: no file for module {target!r} on the path (not imported;"
                    " give FILE.py:NAME)"
                )
            file = found
        return read_script_space(file, name, spec=spec, prefix=prefix, hint=hint)
    if path.exists():
        return _space_from_pickle(path, trust)
    raise InputError(
        f"{prefix}: no such file; expected FILE.py[:NAME], package.module:NAME or a .toml spec"
    )


def config_space_hint(spec: str) -> str:
    """What to do when a config's ``space =`` script cannot be read without running it."""
    script = f"{spec}:space" if spec.endswith(".py") else spec  # --run-space needs the name
    return (
        "a config file never runs code: make the space plain hp.* code in the script, or"
        f" write a spec once with `hopt-inspect space --space {script} --run-space --format"
        ' toml -o space.toml` (RUNS the script) and set space = "space.toml", or pass'
        f" --space {script} --run-space on the command line"
    )


def _space_from_file(study: Study, trust: bool, n_startup_jobs: int | None = None) -> SearchSpace:
    stored = study.space
    if isinstance(stored, SearchSpace):  # read with the file (an Optuna study's distributions)
        return stored
    if stored is not None:
        space = stored_space(stored, trust=trust)
        if space is not None:
            return space
    space = infer_space_for(study, n_startup_jobs)
    if stored is not None:
        note = "the file stores a space that could not be read as an hp graph"
        return SearchSpace(space.params, space.source, inferred=True, notes=(note,))
    return space


def infer_space_for(study: Study, n_startup_jobs: int | None = None) -> SearchSpace:
    """The space inferred from the trials (``infer.infer_study_space``); the first
    ``n_startup_jobs`` trials are taken as draws from the prior (default 20)."""
    from .infer import infer_study_space

    if n_startup_jobs is None:
        return infer_study_space(study)
    return infer_study_space(study, n_startup_jobs=n_startup_jobs)


def stored_space(stored: Any, *, trust: bool = False) -> SearchSpace | None:
    """A space stored with the trials, as data: a pyll graph, a Domain, its pickled bytes.

    Without ``--trust`` the graph is the safe loader's ``ApplyStandIn`` nodes and a Domain
    is a placeholder whose state holds ``expr`` (its objective stays a placeholder). With
    ``--trust`` they are hyperopt's own objects. Pickled bytes (MongoTrials'
    ``FMinIter_Domain`` attachment) are loaded with the same safe loader.
    """
    from .hpgraph import is_node, space_from_graph

    if isinstance(stored, (bytes, bytearray)):
        from .loading.safe_pickle import UnsafePickleError, safe_loads

        try:
            stored = safe_loads(bytes(stored)).obj
        except (UnsafePickleError, Exception):
            return None
    expr = stored
    state = getattr(stored, "state", None)
    if isinstance(state, dict) and "expr" in state:  # a Domain placeholder
        expr = state["expr"]
    elif hasattr(stored, "expr"):  # a real Domain (--trust)
        expr = stored.expr
    if not _has_graph(expr, is_node):
        if trust and expr is not None:
            return space_from_hp(expr, source="stored in the file", origin="stored")
        return None
    return space_from_graph(expr, source="stored in the file", origin="stored")


def _has_graph(expr: Any, is_node: Any) -> bool:
    if is_node(expr) and not type(expr).__module__.startswith("hyperopt"):
        return True
    if isinstance(expr, dict):
        return any(_has_graph(v, is_node) for v in expr.values())
    if isinstance(expr, (list, tuple)):
        return any(_has_graph(v, is_node) for v in expr)
    return False


def check_labels(space: SearchSpace, study: Study) -> None:
    missing = [label for label in study.labels if label not in space.params]
    extra = [label for label in space.params if label not in study.labels]
    if missing:
        raise InputError(
            f"the space ({space.source}) has no parameter for {_names(missing)} found in the"
            " trials: is it the space this study was run with?"
        )
    if extra and study.labels:
        raise InputError(
            f"the space ({space.source}) has {_names(extra)}, which the trials never"
            " recorded: is it the space this study was run with?"
        )


def check_values(space: SearchSpace, study: Study) -> None:
    """Observed values must be ones the space can produce (bounds, option indices)."""
    for label, param in space.params.items():
        values = [
            float(t.params[label])
            for t in study.trials
            if isinstance(t.params.get(label), (int, float))
        ]
        if not values:
            continue
        lo, hi = min(values), max(values)
        if param.is_categorical:
            n, off = param.n_options, param.randint_offset
            if n < 1:  # hp.choice(label, []), randint(5, 3): was no check at all
                raise InputError(
                    f"the space ({space.source}) gives {label!r} no options, but the trials"
                    f" hold values from {lo:g} to {hi:g}: is it the space this study was run with?"
                )
            if lo < off or hi > off + n - 1:
                raise InputError(
                    f"the space ({space.source}) gives {label!r} {n} options, but the trials"
                    f" hold values from {lo:g} to {hi:g}: is it the space this study was run with?"
                )
            continue
        bounds = param.natural_bounds()
        if bounds is None:
            continue
        slack = (param.q or 0.0) / 2 + 1e-9 * max(1.0, abs(bounds[0]), abs(bounds[1]))
        if lo < bounds[0] - slack or hi > bounds[1] + slack:
            raise InputError(
                f"the space ({space.source}) gives {label!r} the range {bounds[0]:.4g} to"
                f" {bounds[1]:.4g}, but the trials hold values from {lo:.4g} to {hi:.4g}:"
                " is it the space this study was run with?"
            )


def _names(labels: list[str]) -> str:
    shown = ", ".join(repr(label) for label in labels[:6])
    return shown + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")


# --------------------------------------------------------------------------- Python spaces


def space_from_python(spec: str) -> SearchSpace:
    """``tuner.py:space`` or ``pkg.module:space``: IMPORT it (``--run-space`` only)."""
    return space_from_hp(python_object(spec, option="--space"), source=spec, origin="import")


def python_object(spec: str, *, option: str) -> Any:
    """The object NAME of ``FILE.py:NAME`` or ``package.module:NAME`` (imports that code)."""
    target, _, name = spec.rpartition(":")
    if not target or not name:
        raise InputError(f"{option} {spec}: expected FILE.py:NAME or package.module:NAME")
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.exists():
                raise InputError(f"{option} {spec}: {target}: no such file")
            module = _import_file(path)
        else:
            module = importlib.import_module(target)
    except InputError:
        raise
    except BaseException as exc:  # user code may raise anything, even SystemExit
        raise InputError(
            f"{option} {spec}: importing {target} failed ({type(exc).__name__}: {exc})"
        ) from exc
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{option} {spec}: {target} has no attribute {part!r}")
        obj = getattr(obj, part)
    return obj


def _import_file(path: Path) -> Any:
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # its own imports (helpers next to it) work as for the user
        sys.path.insert(0, folder)
    mod_name = f"_hopt_inspect_space_{path.stem}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module


def _walk_hp(expr: Any) -> Iterator[tuple[Any, Any, tuple[tuple[str, int], ...], bool]]:
    """(hyperopt_param node, switch node or None, conditions, int-wrapped) for each label.

    Iterative depth-first walk that tracks which choice branch each label sits in.
    """
    stack: list[tuple[Any, tuple[tuple[str, int], ...], Any]] = [(expr, (), None)]
    seen: set[tuple[int, tuple[tuple[str, int], ...]]] = set()
    while stack:
        node, conds, parent = stack.pop()
        key = (id(node), conds)
        if key in seen:
            continue
        seen.add(key)
        if node.name == "hyperopt_param":
            switch = parent if parent is not None and parent.name == "switch" else None
            yield node, switch, conds, False
            stack.append((node.arg["obj"], conds, node))
            continue
        if node.name == "int" and node.pos_args:
            inner = node.pos_args[0]
            if (
                inner.name == "float"
                and inner.pos_args
                and inner.pos_args[0].name == "hyperopt_param"
            ):
                yield inner.pos_args[0], None, conds, True
        if node.name == "switch" and node.pos_args:
            selector = node.pos_args[0]
            stack.append((selector, conds, node))
            if selector.name == "hyperopt_param":
                label = selector.arg["label"].obj
                for i, branch in enumerate(node.pos_args[1:]):
                    stack.append((branch, (*conds, (label, i)), node))
                continue
        for child in node.inputs():
            stack.append((child, conds, node))


def _option_value(node: Any) -> Any:
    from .hpgraph import option_value, plain_option

    if hasattr(node, "obj"):
        return plain_option(node.obj, _option_text(node))
    value = option_value(node)  # (50, 50), {"name": "adam"}: containers of literals
    return value if isinstance(value, (list, tuple, dict)) else _option_text(node)


def _option_text(node: Any) -> str:
    from .hpgraph import option_value

    value = None if hasattr(node, "obj") else option_value(node)
    if isinstance(value, (list, tuple, dict)):
        return repr(value)
    if hasattr(node, "obj"):
        value = node.obj
        return value if isinstance(value, str) else repr(value)
    if node.name == "dict":
        keys = [k for k, _ in node.named_args]
        return "{" + ", ".join(keys[:4]) + (", …" if len(keys) > 4 else "") + "}"
    if node.name == "float" and node.pos_args and node.pos_args[0].name == "hyperopt_param":
        return f"<{node.pos_args[0].arg['label'].obj}>"
    return f"<{node.name}>"


def space_from_hp(obj: Any, *, source: str, origin: str = "import") -> SearchSpace:
    """Params from a hyperopt space (dict, list, nested choice) built with ``hp.*``."""
    from hyperopt import pyll

    try:
        expr = pyll.as_apply(obj)
    except Exception as exc:
        raise InputError(f"--space {source}: not a hyperopt space ({exc})") from exc
    from .hpgraph import gather_uses

    try:
        found = gather_uses(_walk_hp(expr), lambda node: node.arg["label"].obj)
    except InputError as exc:
        raise InputError(f"--space {source}: {exc}") from exc
    if not found:
        raise InputError(f"--space {source}: holds no hp.* parameters")
    params = {}
    for label, entry in found.items():
        params[label] = _param_from_node(label, entry, pyll)
    return SearchSpace(_in_trials_order(params), source, origin=origin)


def _in_trials_order(params: dict[str, Param]) -> dict[str, Param]:
    # hyperopt's Domain sorts dict spaces by key (pyll.as_apply), so do we.
    return dict(sorted(params.items()))


def _eval_args(dist: Any, pyll: Any) -> tuple[list[Any], dict[str, Any]]:
    pos = [pyll.rec_eval(a) for a in dist.pos_args]
    named = {k: pyll.rec_eval(a) for k, a in dist.named_args if k not in ("rng", "size")}
    return pos, named


def _param_from_node(label: str, entry: dict[str, Any], pyll: Any) -> Param:
    from .hpgraph import param_from_args

    dist = entry["node"].arg["obj"]
    pos, named = _eval_args(dist, pyll)
    switch = entry["switch"]
    branches = switch.pos_args[1:] if switch is not None else None
    options = tuple(_option_text(b) for b in branches) if branches is not None else None
    values = tuple(_option_value(b) for b in branches) if branches is not None else None
    return param_from_args(label, dist.name, pos, named, entry, options, values)


def _space_from_pickle(path: Path, trust: bool) -> SearchSpace:
    """A pickled hp space (or ``{"trials": ..., "space": ...}``), read as data by default."""
    from .errors import read_spec_bytes

    data = read_spec_bytes(path)
    head = data[:2]
    if head[:1] != b"\x80":
        raise InputError(
            f"--space {path}: not a pickle; expected FILE.py[:NAME], package.module:NAME,"
            " a .toml spec or a pickled hp graph"
        )
    from .loading.safe_pickle import UnsafePickleError, safe_loads, trusted_loads

    try:
        obj = (trusted_loads(path) if trust else safe_loads(path)).obj
    except (UnsafePickleError, Exception) as exc:
        raise InputError(f"--space {path}: cannot be unpickled ({exc})") from exc
    if isinstance(obj, dict) and "space" in obj and "trials" in obj:
        obj = obj["space"]
    elif isinstance(obj, dict) and "domain" in obj:  # a Ray Tune searcher state
        obj = obj["domain"]
    space = stored_space(obj, trust=trust)
    if space is None:
        raise InputError(f"--space {path}: holds no hp space (a pyll graph or a Domain)")
    return SearchSpace(space.params, str(path), origin="pickle")


# --------------------------------------------------------------------------- TOML specs


def space_from_toml(path: Path) -> SearchSpace:
    """``[space]`` with ``label = "kind(args)"`` in hyperopt's own parametrisation."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    from .errors import read_spec_bytes

    try:
        doc = tomllib.loads(read_spec_bytes(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--space {path}: not valid TOML ({exc})") from exc
    table = doc.get("space")
    if not isinstance(table, dict) or not table:
        raise InputError(f'--space {path}: needs a [space] table, e.g. lr = "loguniform(-11.5, 0)"')
    params = {}
    for label, text in table.items():
        if not isinstance(text, str):
            raise InputError(f'--space {path}: {label} must be a string such as "uniform(0, 1)"')
        params[label] = parse_distribution(label, text, where=str(path))
    _toml_conditions(path, doc.get("conditions"), params)
    return SearchSpace(_in_trials_order(params), str(path), origin="toml")


def _toml_conditions(path: Path, table: Any, params: dict[str, Param]) -> None:
    """``[conditions]``: ``label = [[["choice", option index], ...], ...]``, the paths under
    which the label is active (any path; every pair of a path holding), as ``hopt-inspect
    space --format toml`` writes them for a conditional space."""
    from dataclasses import replace

    if table is None:
        return
    if not isinstance(table, dict):
        raise InputError(f"--space {path}: [conditions] must be a table")
    for label, paths in table.items():
        bad = InputError(
            f"--space {path}: [conditions] {label!r} must be a list of paths, each a list of"
            ' ["choice label", option index] pairs naming choices of [space]'
        )
        if label not in params or not isinstance(paths, list) or not 0 < len(paths) <= 1000:
            raise bad
        conditional = []
        for one in paths:
            if not (isinstance(one, list) and 0 < len(one) <= 100):
                raise bad
            pairs = []
            for pair in one:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise bad
                parent, index = params.get(pair[0]), pair[1]
                if parent is None or not parent.is_categorical or parent.label == label:
                    raise bad
                n = len(parent.p or ()) if parent.kind == "pchoice" else parent.n_options
                if type(index) is not int or not 0 <= index < n:
                    raise bad
                pairs.append((parent.label, index))
            conditional.append(tuple(pairs))
        params[label] = replace(params[label], conditional=tuple(dict.fromkeys(conditional)))


def parse_distribution(label: str, text: str, *, where: str = "spec") -> Param:
    """``"loguniform(log(1e-5), 0)"`` → Param. Only literals, arithmetic and log/exp/sqrt."""
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" must not reach stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"{where}: {label} = {text!r} is not a distribution call") from exc
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)):
        raise InputError(f"{where}: {label} = {text!r} is not a distribution call")
    kind = tree.func.id
    if kind not in KINDS:
        raise InputError(f"{where}: {label}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
    try:
        pos = [_literal(a) for a in tree.args]
        named = {k.arg: _literal(k.value) for k in tree.keywords if k.arg}
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # 1/0, exp(1000)
        raise InputError(f"{where}: {label} = {text!r}: {exc}") from exc
    try:
        return _param_from_args(label, kind, pos, named)
    except (TypeError, ValueError, IndexError, KeyError, ArithmeticError) as exc:
        raise InputError(f"{where}: {label} = {text!r}: {exc}") from exc


def _param_from_args(label: str, kind: str, pos: list[Any], named: dict[str, Any]) -> Param:
    param = _param_from_args_unchecked(label, kind, pos, named)
    if param.is_categorical and param.n_options < 1:  # randint(0), randint(5, 3), choice([])
        raise ValueError("no options (a choice needs one, randint(low, high) needs low < high)")
    return param


def _param_from_args_unchecked(
    label: str, kind: str, pos: list[Any], named: dict[str, Any]
) -> Param:
    if kind == "choice":
        options = pos[0] if pos else named["options"]
        return Param(
            label, "choice", low=float(len(options)), options=tuple(_text(o) for o in options),
            option_values=tuple(_plain(o) for o in options),  # low: K, as hp.choice's randint
        )  # fmt: skip
    if kind == "pchoice":
        pairs = pos[0] if pos else named["p_options"]
        probs = tuple(float(p) for p, _ in pairs)
        if abs(sum(probs) - 1.0) > 1e-6:
            raise ValueError("the probabilities must sum to 1")
        return Param(
            label, "pchoice", p=probs, options=tuple(_text(o) for _, o in pairs),
            option_values=tuple(_plain(o) for _, o in pairs),
        )  # fmt: skip
    names = SIGNATURES[kind]
    if len(pos) > len(names):
        raise TypeError(f"{kind} takes {len(names)} arguments ({', '.join(names)})")
    args = dict(zip(names, pos, strict=False))
    args.update(named)
    unknown = set(args) - set(names)
    if unknown:
        raise TypeError(f"{kind} has no argument {sorted(unknown)[0]!r}")
    required = names[:1] if kind == "randint" else names
    if any(args.get(n) is None for n in required):
        raise TypeError(f"{kind} needs {', '.join(required)}")
    values = {k: None if v is None else float(v) for k, v in args.items()}
    if any(v is not None and not math.isfinite(v) for v in values.values()):
        raise ValueError("every argument must be a finite number")
    if kind == "uniformint":
        values["q"] = 1.0
    if kind in ("uniform", "quniform", "uniformint", "loguniform", "qloguniform") and not (
        values["low"] < values["high"]
    ):
        raise ValueError("low must be below high")
    if values.get("sigma") is not None and values["sigma"] <= 0:
        raise ValueError("sigma must be positive")
    if values.get("q") is not None and values["q"] <= 0:
        raise ValueError("q must be positive")
    return Param(label, kind, **values)


def _plain(option: Any) -> Any:
    from .hpgraph import option_value

    return option_value(option)


def _text(option: Any) -> str:
    return option if isinstance(option, str) else repr(option)


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(
        node.value, (int, float, str, bool, type(None))
    ):
        return node.value
    if isinstance(node, ast.List):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):  # an option (50, 50) stays a tuple
        return tuple(_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:  # an option {"name": "adam"}
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.Name) and node.id in _NAMES:  # TOML-style true/false too
        return _NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
    ):
        left, right = _literal(node.left), _literal(node.right)
        if not all(isinstance(v, (int, float)) for v in (left, right)):
            raise ValueError("arithmetic on non-numbers")
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ValueError("exponent too large")
        if isinstance(left, int) and isinstance(right, int):  # big integers cost seconds
            bits = left.bit_length() * max(abs(right), 1) if isinstance(node.op, ast.Pow) else 0
            bits = max(bits, left.bit_length() + right.bit_length())
            if bits > 4000:
                raise ValueError("number too large")
        ops = {
            ast.Add: lambda a, b: a + b,
            ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b,
            ast.Div: lambda a, b: a / b,
            ast.Pow: lambda a, b: a**b,
        }
        value = ops[type(node.op)](left, right)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("the result is not a finite number")
        return value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _MATH
        and len(node.args) == 1
    ):
        return _MATH[node.func.id](float(_literal(node.args[0])))
    raise ValueError(f"{ast.unparse(node)!r} is not a number, string or list")
