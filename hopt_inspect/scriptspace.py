"""Read a search space out of a tuning script WITHOUT running it (``ast`` only).

``read_script_space(path, name)`` parses the file and evaluates a safe subset of Python:
literals, arithmetic, ``math``/``numpy`` functions of numbers, names bound earlier (module
level, or in the function around the ``fmin`` call), containers and comprehensions over
literal ranges, calls of the script's own functions that only build values, and ``hp.*`` in
every import spelling, ``scope.int``/``scope.float``. The result is the pyll-shaped graph of
``hpgraph``, turned into a SearchSpace without importing hyperopt.

Without a name, the space is the one passed to ``fmin`` (``space=`` or the second
positional argument, anywhere in the file), else the single module-level name that holds
hp nodes. What cannot be evaluated is an ``InputError`` naming the line and expression and
the explicit opt-in that imports the script (``--run-space``).
"""

from __future__ import annotations

import ast
import contextlib
import math
import operator
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError
from .hpgraph import Node, is_node, space_from_graph
from .space import KINDS, SearchSpace

RUN_HINT = "pass --run-space to import the script instead (RUNS its module-level code)"
MAX_STEPS = 200_000  # evaluation steps per script: comprehensions over huge ranges stop here
MAX_SEQ = 100_000
MAX_DEPTH = 20  # nested calls of the script's own functions
MAX_INT_BITS = 20_000  # integers past ~6000 digits are no bound anyone writes
MAX_EXPANDED = 1_000_000  # values in a container counted with repeats (a = [a, a] ...)
MAX_FORMAT_WIDTH = 1000  # f"{x:>999999999}" would build a gigabyte string
MAX_SCRIPT_BYTES = 2 << 20  # a tuning script; 100k lines took 3.3 s and 284 MB to read


class _Mod:
    """A module the script imported: ``hyperopt``, ``hyperopt.hp``, ``math``, ``numpy``…"""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"<module {self.path}>"


class _Fn:
    """A function we know by name (``hyperopt.hp.uniform``, ``math.log``, ``hyperopt.fmin``)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"<function {self.path}>"


class _UserFn:
    __slots__ = ("env", "node")

    def __init__(self, node: ast.FunctionDef | ast.Lambda, env: dict[str, Any]) -> None:
        self.node = node
        self.env = env


class _Unknown:
    """A name bound to something we could not (or would not) evaluate."""

    __slots__ = ("final", "lineno", "node", "text")

    def __init__(
        self, lineno: int, text: str, node: ast.AST | None = None, final: bool = False
    ) -> None:
        self.lineno = lineno
        self.text = text
        self.node = node  # the expression that could not be evaluated, if any
        self.final = final  # a mistake running the script would not get past (StaticError)


class _Stop(Exception):
    """A statement reached the target (the fmin call, or a function's return)."""

    def __init__(self, value: Any = None) -> None:
        super().__init__()
        self.value = value


class StaticError(Exception):
    """``final``: a mistake in the script itself that running it would not get past
    (hyperopt refuses it too), so the message does not point at --run-space."""

    def __init__(self, node: ast.AST, why: str, final: bool = False) -> None:
        super().__init__(why)
        self.node = node
        self.why = why
        self.final = final


_HYPEROPT_MODULES = {
    "hyperopt": "hyperopt",
    "hyperopt.hp": "hyperopt.hp",
    "hyperopt.pyll": "hyperopt.pyll",
    "hyperopt.pyll.base": "hyperopt.pyll",
    "hyperopt.pyll.stochastic": "hyperopt.pyll.stochastic",
    "math": "math",
    "numpy": "numpy",
    "np": "numpy",
}

_NP_FUNCS: dict[str, Callable[..., Any]] = {
    "log": math.log,
    "exp": math.exp,
    "log10": math.log10,
    "log2": math.log2,
    "sqrt": math.sqrt,
    "floor": math.floor,
    "ceil": math.ceil,
    "abs": abs,
}


def _power(a: Any, b: Any) -> Any:
    _num(a), _num(b)
    if abs(b) > 1000:
        raise ValueError("exponent too large")
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() * b > MAX_INT_BITS:
        raise ValueError("number too large")
    return a**b


def _arange(*args: Any, **kwargs: Any) -> list[Any]:
    start, stop, step = 0, None, 1
    if len(args) == 1:
        stop = args[0]
    elif len(args) >= 2:
        start, stop = args[0], args[1]
        if len(args) > 2:
            step = args[2]
    start, stop, step = (
        kwargs.get("start", start),
        kwargs.get("stop", stop),
        kwargs.get("step", step),
    )
    for v in (start, stop, step):
        _num(v)
    if not step:
        raise ValueError("step 0")
    n = max(0, math.ceil((stop - start) / step))
    if n > MAX_SEQ:
        raise ValueError("range too long")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return list(range(start, stop, step))
    return [start + i * step for i in range(n)]


def _linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True) -> list[float]:
    _num(start), _num(stop), _num(num)
    if num > MAX_SEQ:
        raise ValueError("too many points")
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div else 0.0
    out = [start + i * step for i in range(int(num))]
    if endpoint and num > 1:
        out[-1] = float(stop)
    return [float(v) for v in out]


def _logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10.0):
    return [base**v for v in _linspace(start, stop, num, endpoint)]


def _range(*args: Any) -> range:
    for v in args:
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError("range() of a non-integer")
    r = range(*args)
    if len(r) > MAX_SEQ:
        raise ValueError("range too long")
    return r


def _num(v: Any) -> Any:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise ValueError(f"{v!r} is not a number")
    return v


_MATH_FUNCS: dict[str, Callable[..., Any]] = {
    "log": math.log,
    "exp": math.exp,
    "log10": math.log10,
    "log2": math.log2,
    "log1p": math.log1p,
    "sqrt": math.sqrt,
    "pow": _power,
    "floor": math.floor,
    "ceil": math.ceil,
    "fabs": math.fabs,
}
_NUMPY_FUNCS: dict[str, Callable[..., Any]] = {
    **_NP_FUNCS,
    "power": _power,
    "float64": float,
    "float32": float,
    "int64": int,
    "int32": int,
    "arange": _arange,
    "linspace": _linspace,
    "logspace": _logspace,
    "array": list,
    "round": round,
}
_CONSTANTS = {"math.pi": math.pi, "math.e": math.e, "math.inf": math.inf,
              "numpy.pi": math.pi, "numpy.e": math.e, "numpy.inf": math.inf}  # fmt: skip
_BUILTINS: dict[str, Callable[..., Any]] = {
    "range": _range,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "len": len,
    "zip": zip,
    "enumerate": enumerate,
    "sorted": sorted,
    "reversed": reversed,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "pow": _power,
    "sum": sum,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


# --------------------------------------------------------------------------- entry points


def read_script_space(
    path: Path,
    name: str | None = None,
    *,
    spec: str | None = None,
    prefix: str | None = None,
    hint: str = RUN_HINT,
) -> SearchSpace:
    """The space of tuning script ``path`` (variable ``name``, or the one passed to fmin).

    Errors start with ``prefix`` (default ``--space SPEC``) and, where running the script
    would help, end with ``hint`` (a config's space gets its own: a config never runs code).
    """
    shown = spec or (f"{path}:{name}" if name else str(path))
    prefix = prefix or f"--space {shown}"
    from .errors import read_spec_bytes

    try:
        text = read_spec_bytes(
            path,
            f"{prefix}:",
            MAX_SCRIPT_BYTES,
            "a tuning script read without running it",
            "; write the space as a TOML spec (`hopt-inspect space --format toml`)",
        ).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{prefix}: {path} cannot be read ({exc})") from exc
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise InputError(
            f"{prefix}: {path} line {exc.lineno} is not valid Python ({exc.msg})"
        ) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InputError(f"{prefix}: {path} cannot be parsed ({type(exc).__name__})") from exc
    reader = _Reader(tree, text)
    try:
        value, where = reader.space_value(name)
    except StaticError as exc:
        raise InputError(reader.message(prefix, exc, hint)) from exc
    except InputError as exc:  # no fmin call, several candidates, no such name
        raise InputError(f"{prefix}: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{prefix}: nested too deeply to read statically; {hint}") from exc
    source = f"{path}:{name}" if name else f"{path} ({where})"
    try:
        return space_from_graph(value, source=source, origin="script")
    except InputError as exc:
        raise InputError(f"{prefix}: {exc}") from exc


def locate_module(module: str) -> Path | None:
    """The file of ``package.module`` on sys.path, found without importing anything."""
    import sys

    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    for entry in ["", *sys.path]:
        base = Path(entry or ".")
        folder = base.joinpath(*parts[:-1])
        for candidate in (folder / f"{parts[-1]}.py", folder / parts[-1] / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


# --------------------------------------------------------------------------- the reader


class _Reader:
    def __init__(self, tree: ast.Module, text: str) -> None:
        self.tree = tree
        self.lines = text.splitlines()
        self.steps = 0
        self.depth = 0
        self.parents: dict[int, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[id(child)] = parent
        self.module_env: dict[str, Any] | None = None
        self._module_names_cache: set[str] | None = None
        self.star_imports = [
            f"from {'.' * n.level}{n.module or ''} import * (line {n.lineno})"
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
        ]

    # ----------------------------------------------------------------- messages

    def message(self, prefix: str, exc: StaticError, hint: str = RUN_HINT) -> str:
        node = exc.node
        line = getattr(node, "lineno", None)
        try:
            expr = ast.unparse(node)
        except Exception:  # pragma: no cover - unparse handles every parsed node
            expr = "?"
        expr = " ".join(expr.split())
        if len(expr) > 80:
            expr = expr[:77] + "..."
        where = f"line {line}: " if line else ""
        if exc.final:
            return (
                f"{prefix}: {where}{expr!r}: {exc.why}, which hyperopt refuses too: fix the script"
            )
        return (
            f"{prefix}: {where}cannot read {expr!r} without running the script ({exc.why}); {hint}"
        )

    # ----------------------------------------------------------------- finding the space

    def space_value(self, name: str | None) -> tuple[Any, str]:
        if name:
            env = self.module()
            head, *rest = name.split(".")
            if head not in env:
                candidates = self._hp_names(env)
                hint = f" (names holding hp nodes: {', '.join(candidates)})" if candidates else ""
                raise InputError(f"the script binds no module-level name {head!r}{hint}")
            value = self._resolve_bound(env[head], ast.Name(id=head, lineno=0))
            for part in rest:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                else:
                    raise InputError(f"the script's {head} has no attribute {part!r}")
            if isinstance(value, _UserFn):
                value = self._call_user(value, [], {}, ast.Name(id=name))
            return value, name
        calls = list(self._fmin_calls())
        if calls:
            call, expr = calls[0]
            value = self.eval(expr, self._env_at(call))
            return value, f"the space passed to fmin on line {call.lineno}"
        env = self.module()
        candidates = self._hp_names(env)
        if len(candidates) == 1:
            return env[candidates[0]], candidates[0]
        if not candidates:
            for key, value in env.items():
                line = self.lines[value.lineno - 1] if isinstance(value, _Unknown) else ""
                if line:  # the failure may lie elsewhere (in a function): the assignment too
                    line += " " + self._assigned_text(key)
                if key in self._module_names() and any(f"{k}(" in line for k in KINDS):
                    self._resolve_bound(value, ast.Name(id=key))  # raises: why it is unknown
            raise InputError(
                "found no fmin(...) call and no module-level name holding hp.* nodes;"
                " name the variable, as in tuner.py:space"
            )
        raise InputError(
            f"several module-level names hold hp.* nodes ({', '.join(candidates)}):"
            f" name one, as in FILE.py:{candidates[0]}"
        )

    def _assigned_text(self, name: str) -> str:
        """The source of the values assigned to ``name`` anywhere in the script."""
        return " ".join(
            ast.unparse(node.value)
            for node in ast.walk(self.tree)
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and node.value is not None
            and any(name in _names_in_target(t) for t in _targets(node))
        )

    def _hp_names(self, env: dict[str, Any]) -> list[str]:
        names = self._module_names()
        return [k for k, v in env.items() if k in names and _holds_hp(v)]

    def _module_names(self) -> set[str]:
        if self._module_names_cache is None:  # once: was recomputed per name (quadratic)
            names: set[str] = set()
            for stmt in self.tree.body:
                for target in _targets(stmt):
                    names.update(_names_in_target(target))
            self._module_names_cache = names
        return self._module_names_cache

    def _resolve_bound(self, value: Any, node: ast.AST) -> Any:
        if isinstance(value, _Unknown):
            node = value.node or _line_node(value.lineno, self.lines)
            raise StaticError(node, value.text, value.final)
        return value

    def _fmin_calls(self) -> Iterator[tuple[ast.Call, ast.expr]]:
        names = self._fmin_names()
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            if not self._is_fmin(node.func, names):
                continue
            expr = next((k.value for k in node.keywords if k.arg == "space"), None)
            if expr is None and len(node.args) >= 2:
                expr = node.args[1]
            if expr is not None:
                yield node, expr

    def _fmin_names(self) -> tuple[set[str], set[str]]:
        direct, modules = set(), set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("hyperopt", "hyperopt.fmin"):
                for alias in node.names:
                    if alias.name == "fmin":
                        direct.add(alias.asname or "fmin")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "hyperopt" or alias.name.startswith("hyperopt."):
                        modules.add(alias.asname or "hyperopt")
        return direct, modules

    @staticmethod
    def _is_fmin(func: ast.expr, names: tuple[set[str], set[str]]) -> bool:
        direct, modules = names
        if isinstance(func, ast.Name):
            return func.id in direct
        if isinstance(func, ast.Attribute) and func.attr == "fmin":
            base = func.value
            return isinstance(base, ast.Name) and base.id in modules
        return False

    # ----------------------------------------------------------------- environments

    def module(self) -> dict[str, Any]:
        if self.module_env is None:
            env: dict[str, Any] = {}
            self.module_env = env
            self.exec_block(self.tree.body, env, None, module_level=True)
        return self.module_env

    def _env_at(self, target: ast.AST) -> dict[str, Any]:
        """Names bound where ``target`` is evaluated: module, then enclosing functions."""
        chain = []
        node: ast.AST | None = target
        while node is not None:
            node = self.parents.get(id(node))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                chain.append(node)
        env = self.module()
        if not chain:
            # a module-level statement: the names bound before it (a __main__ block, say)
            env = {}
            with contextlib.suppress(_Stop):
                self.exec_block(self.tree.body, env, target, module_level=True)
            return env
        env = dict(env)
        for fn in reversed(chain):
            local = dict(env)
            for arg in _all_args(fn.args):
                local[arg.arg] = _Unknown(fn.lineno, f"{arg.arg} is an argument of {fn.name}()")
            with contextlib.suppress(_Stop):
                self.exec_block(fn.body, local, target, module_level=False)
            env = local
        return env

    def exec_block(
        self,
        body: list[ast.stmt],
        env: dict[str, Any],
        target: ast.AST | None,
        *,
        module_level: bool,
    ) -> None:
        for stmt in body:
            if target is not None and _contains(stmt, target):
                self._exec_towards(stmt, env, target, module_level)
                raise _Stop()
            self.exec_stmt(stmt, env, module_level=module_level)

    def _exec_towards(
        self, stmt: ast.stmt, env: dict[str, Any], target: ast.AST, module_level: bool
    ) -> None:
        """Run the statements of ``stmt`` that come before ``target`` inside it."""
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and any(_contains(s, target) for s in block):
                if isinstance(stmt, (ast.For, ast.AsyncFor)):
                    for name in _names_in_target(stmt.target):
                        env[name] = _Unknown(stmt.lineno, f"{name} is a loop variable")
                self.exec_block(block, env, target, module_level=module_level)
                return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Expr, ast.Return)):
            return

    def exec_stmt(self, stmt: ast.stmt, env: dict[str, Any], *, module_level: bool) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    env[alias.asname] = _module_value(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    env[top] = _module_value(top)
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name
                env[bound] = _from_import(stmt.module or "", alias.name, stmt.level)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            env[stmt.name] = _UserFn(stmt, env)
        elif isinstance(stmt, ast.ClassDef):
            env[stmt.name] = _Unknown(stmt.lineno, f"{stmt.name} is a class")
        elif isinstance(stmt, ast.Assign):
            value = self._try_eval(stmt.value, env)
            for target in stmt.targets:
                self._bind(target, value, env, stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self._bind(stmt.target, self._try_eval(stmt.value, env), env, stmt)
        elif isinstance(stmt, ast.AugAssign):
            fake = ast.BinOp(left=_load(stmt.target), op=stmt.op, right=stmt.value)
            ast.copy_location(fake, stmt)
            self._bind(stmt.target, self._try_eval(fake, env), env, stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self._method_call(stmt.value, env)
        elif isinstance(stmt, ast.If):
            test = self._try_eval(stmt.test, env)
            if _is_main_test(stmt.test) or test is True:
                self.exec_block(stmt.body, env, None, module_level=module_level)
            elif test is False:
                self.exec_block(stmt.orelse, env, None, module_level=module_level)
            else:
                self.exec_block(stmt.body, env, None, module_level=module_level)
                self.exec_block(stmt.orelse, env, None, module_level=module_level)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    self._bind(
                        item.optional_vars, _Unknown(stmt.lineno, "bound by a with"), env, stmt
                    )
            self.exec_block(stmt.body, env, None, module_level=module_level)
        elif isinstance(stmt, ast.Try):
            self.exec_block(stmt.body, env, None, module_level=module_level)
            self.exec_block(stmt.orelse, env, None, module_level=module_level)
            self.exec_block(stmt.finalbody, env, None, module_level=module_level)
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            for sub in ast.walk(stmt):
                for target in _targets(sub) if isinstance(sub, ast.stmt) else ():
                    for name in _names_in_target(target):
                        env[name] = _Unknown(stmt.lineno, f"{name} is assigned in a loop")
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                for name in _names_in_target(stmt.target):
                    env[name] = _Unknown(stmt.lineno, f"{name} is a loop variable")
        elif isinstance(stmt, ast.Return) and not module_level:
            raise _Stop(self.eval(stmt.value, env) if stmt.value is not None else None)
        elif isinstance(stmt, ast.Return):
            pass

    def _method_call(self, call: ast.Call, env: dict[str, Any]) -> None:
        """``space.update({...})`` / ``options.append(...)`` on a container we hold."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        holder = env.get(func.value.id)
        if isinstance(holder, dict) and func.attr in ("update", "setdefault"):
            holder = dict(holder)
        elif isinstance(holder, list) and func.attr in ("append", "extend", "insert"):
            holder = list(holder)
        else:
            return
        try:
            args = [self.eval(a, env) for a in call.args]
            kwargs = {k.arg: self.eval(k.value, env) for k in call.keywords if k.arg}
            getattr(holder, func.attr)(*args, **kwargs)
            env[func.value.id] = holder
        except (StaticError, TypeError, ValueError) as exc:
            why = exc.why if isinstance(exc, StaticError) else str(exc)
            env[func.value.id] = _Unknown(call.lineno, why)

    def _try_eval(self, expr: ast.expr, env: dict[str, Any]) -> Any:
        try:
            return self.eval(expr, env)
        except StaticError as exc:
            lineno = getattr(exc.node, "lineno", expr.lineno)
            return _Unknown(lineno, exc.why, exc.node, exc.final)

    def _bind(self, target: ast.expr, value: Any, env: dict[str, Any], stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            names = target.elts
            if isinstance(value, (list, tuple)) and len(value) == len(names):
                for sub, v in zip(names, value, strict=True):
                    self._bind(sub, v, env, stmt)
            else:
                for sub in names:
                    for name in _names_in_target(sub):
                        env[name] = (
                            value
                            if isinstance(value, _Unknown)
                            else _Unknown(
                                stmt.lineno,
                                "unpacking a value that is not a sequence of that length",
                            )
                        )
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            holder = env.get(target.value.id)
            if isinstance(holder, (dict, list)):
                try:
                    key = self.eval(target.slice, env)
                    holder = dict(holder) if isinstance(holder, dict) else list(holder)
                    holder[key] = value
                    env[target.value.id] = holder
                except (StaticError, TypeError, IndexError) as exc:
                    why = exc.why if isinstance(exc, StaticError) else str(exc)
                    env[target.value.id] = _Unknown(stmt.lineno, why)

    # ----------------------------------------------------------------- expressions

    def eval(self, node: ast.expr, env: dict[str, Any]) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise StaticError(node, "too much to evaluate")
        method = getattr(self, "_e_" + type(node).__name__, None)
        if method is None:
            raise StaticError(node, f"{type(node).__name__} expressions are not read statically")
        try:
            value = method(node, env)
        except StaticError:
            raise
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError) as exc:
            if any(f"'{name}'" in str(exc) for name in ("_Fn", "_Mod", "_Unknown")):
                # our stand-in for os.environ, open(), a call we do not evaluate...: say so
                # instead of "'_Fn' object is not subscriptable"
                raise StaticError(node, "a value only the running script has") from exc
            raise StaticError(node, f"{type(exc).__name__}: {exc}") from exc
        self._bounded(node, value)
        return value

    def _bounded(self, node: ast.expr, value: Any) -> None:
        """Every value stays small: integers, strings, and containers counted with their
        repeats (``a = [a, a]`` twenty times is a million values to print or compare)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_INT_BITS:
                raise StaticError(node, "number too large")
        elif isinstance(value, (str, bytes)):
            if len(value) > MAX_SEQ:
                raise StaticError(node, "string too long")
        elif isinstance(value, (list, tuple, dict, set, frozenset)):
            sizes = self.__dict__.setdefault("_sizes", {})
            key = id(value)
            if key in sizes and sizes[key][0] is value:
                return
            items = value.values() if isinstance(value, dict) else value
            total = len(value)
            for item in items:
                known = sizes.get(id(item))
                if known is not None and known[0] is item:
                    total += known[1]
                elif isinstance(item, (str, bytes)):
                    total += 1 + len(item) // 64  # long strings weigh what they print as
                else:
                    total += 1
                if total > MAX_EXPANDED:
                    raise StaticError(node, "value too large (counted with its repeats)")
            sizes[key] = (value, total)

    def _e_Constant(self, node: ast.Constant, env: dict[str, Any]) -> Any:
        return node.value

    def _e_Name(self, node: ast.Name, env: dict[str, Any]) -> Any:
        if node.id in env:
            value = env[node.id]
            if isinstance(value, _Unknown) and value.node is not None:
                raise StaticError(value.node, value.text, value.final)  # the cause, where it is
            if isinstance(value, _Unknown):
                raise StaticError(node, f"line {value.lineno}: {value.text}", value.final)
            return value
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id in _BUILTINS:
            return _Fn("builtins." + node.id)
        star = f"; a star import is not read: {self.star_imports[0]}" if self.star_imports else ""
        raise StaticError(node, f"{node.id} is not bound before this line{star}")

    def _e_List(self, node: ast.List, env: dict[str, Any]) -> list[Any]:
        return self._elements(node.elts, env)

    def _e_Tuple(self, node: ast.Tuple, env: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(self._elements(node.elts, env))

    def _e_Set(self, node: ast.Set, env: dict[str, Any]) -> list[Any]:
        return self._elements(node.elts, env)

    def _elements(self, elts: list[ast.expr], env: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(_iterable(self.eval(e.value, env)))
            else:
                out.append(self.eval(e, env))
        return out

    def _e_Dict(self, node: ast.Dict, env: dict[str, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                extra = self.eval(v, env)
                if not isinstance(extra, dict):
                    raise StaticError(v, "** of something that is not a dict")
                out.update(extra)
            else:
                out[_hashable(self.eval(k, env))] = self.eval(v, env)
        return out

    def _e_JoinedStr(self, node: ast.JoinedStr, env: dict[str, Any]) -> str:
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                value = self.eval(v.value, env)
                if is_node(value) or isinstance(value, (dict, list, tuple)):
                    raise StaticError(v, "formats a non-scalar")
                spec = self.eval(v.format_spec, env) if v.format_spec is not None else ""
                if any(int(d) > MAX_FORMAT_WIDTH for d in re.findall(r"\d+", str(spec))):
                    raise StaticError(v, "format width or precision too large")
                if v.conversion == ord("r"):
                    value = repr(value)
                elif v.conversion == ord("s"):
                    value = str(value)
                parts.append(format(value, spec))
        return "".join(parts)

    def _e_UnaryOp(self, node: ast.UnaryOp, env: dict[str, Any]) -> Any:
        value = self.eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not value
        _num(value)
        return -value if isinstance(node.op, ast.USub) else +value

    def _e_BinOp(self, node: ast.BinOp, env: dict[str, Any]) -> Any:
        left, right = self.eval(node.left, env), self.eval(node.right, env)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise StaticError(node, "operator not read statically")
        if is_node(left) or is_node(right):
            raise StaticError(node, "arithmetic on an hp expression builds a pyll graph")
        seqs = (list, tuple, str)
        if isinstance(node.op, ast.Mult) and (isinstance(left, seqs) or isinstance(right, seqs)):
            seq, count = (left, right) if isinstance(left, seqs) else (right, left)
            if isinstance(count, int) and count * max(len(seq), 1) > MAX_SEQ:
                raise StaticError(node, "sequence too long")
        both_seqs = isinstance(left, seqs) and isinstance(right, seqs)
        if isinstance(node.op, ast.Add) and both_seqs and len(left) + len(right) > MAX_SEQ:
            raise StaticError(node, "sequence too long")
        both_ints = isinstance(left, int) and isinstance(right, int)
        if (
            isinstance(node.op, ast.Mult)
            and both_ints
            and left.bit_length() + right.bit_length() > MAX_INT_BITS
        ):
            raise StaticError(node, "number too large")
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise StaticError(node, "%-formatting is not read statically")
        return op(left, right)

    def _e_BoolOp(self, node: ast.BoolOp, env: dict[str, Any]) -> Any:
        value: Any = None
        for v in node.values:
            value = self.eval(v, env)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def _e_Compare(self, node: ast.Compare, env: dict[str, Any]) -> bool:
        left = self.eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comp, env)
            if is_node(left) or is_node(right):
                raise StaticError(node, "compares an hp expression")
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def _e_IfExp(self, node: ast.IfExp, env: dict[str, Any]) -> Any:
        return self.eval(node.body if self.eval(node.test, env) else node.orelse, env)

    def _e_Subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Any:
        value = self.eval(node.value, env)
        key = self.eval(node.slice, env)
        if is_node(value):
            raise StaticError(node, "indexes an hp expression")
        if isinstance(key, list):
            raise StaticError(node, "fancy indexing")
        return value[key]

    def _e_Slice(self, node: ast.Slice, env: dict[str, Any]) -> slice:
        parts = [
            None if p is None else self.eval(p, env) for p in (node.lower, node.upper, node.step)
        ]
        return slice(*parts)

    def _e_Starred(self, node: ast.Starred, env: dict[str, Any]) -> Any:
        raise StaticError(node, "starred expression here")

    def _e_Attribute(self, node: ast.Attribute, env: dict[str, Any]) -> Any:
        base = self.eval(node.value, env)
        if isinstance(base, _Mod):
            return _attribute(base, node.attr, node)
        if isinstance(base, dict) and node.attr in ("items", "keys", "values", "get", "copy"):
            return _Bound(base, node.attr)
        if isinstance(base, _Fn):  # os.environ.get, settings.lr: not a call we evaluate
            raise StaticError(node, f"{base.path}.{node.attr} is not read statically")
        raise StaticError(node, f"attribute {node.attr} of {_kind(base)}")

    def _comprehension(
        self, generators: list[ast.comprehension], env: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        def rec(i: int, scope: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(generators):
                yield scope
                return
            gen = generators[i]
            for item in _iterable(self.eval(gen.iter, scope)):
                local = dict(scope)
                self._bind(gen.target, item, local, gen)  # type: ignore[arg-type]
                if all(self.eval(cond, local) for cond in gen.ifs):
                    yield from rec(i + 1, local)

        return rec(0, dict(env))

    def _e_ListComp(self, node: ast.ListComp, env: dict[str, Any]) -> list[Any]:
        return [self.eval(node.elt, s) for s in self._comprehension(node.generators, env)]

    _e_SetComp = _e_ListComp

    def _e_GeneratorExp(self, node: ast.GeneratorExp, env: dict[str, Any]) -> list[Any]:
        return [self.eval(node.elt, s) for s in self._comprehension(node.generators, env)]

    def _e_DictComp(self, node: ast.DictComp, env: dict[str, Any]) -> dict[Any, Any]:
        return {
            _hashable(self.eval(node.key, s)): self.eval(node.value, s)
            for s in self._comprehension(node.generators, env)
        }

    def _e_Lambda(self, node: ast.Lambda, env: dict[str, Any]) -> Any:
        return _UserFn(node, env)

    def _e_Call(self, node: ast.Call, env: dict[str, Any]) -> Any:
        func = self.eval(node.func, env)
        if isinstance(func, _Fn) and not _known_function(func.path):
            raise StaticError(node, f"{func.path}() is not read statically")
        args = self._elements(node.args, env)
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                extra = self.eval(k.value, env)
                if not isinstance(extra, dict):
                    raise StaticError(k.value, "** of something that is not a dict")
                kwargs.update(extra)
            else:
                kwargs[k.arg] = self.eval(k.value, env)
        if isinstance(func, _Fn):
            return self._call_known(func.path, args, kwargs, node)
        if isinstance(func, _Bound):
            return func.call(args, kwargs)
        if isinstance(func, _UserFn):
            return self._call_user(func, args, kwargs, node)
        raise StaticError(node, f"calls {_kind(func)}")

    def _call_user(
        self, fn: _UserFn, args: list[Any], kwargs: dict[str, Any], node: ast.AST
    ) -> Any:
        if self.depth >= MAX_DEPTH:
            raise StaticError(node, "calls nested too deeply")
        spec = fn.node.args
        local = dict(self.module() if fn.env is self.module_env else fn.env)
        params = [*spec.posonlyargs, *spec.args]
        defaults = spec.defaults
        for i, arg in enumerate(params):
            if i < len(args):
                local[arg.arg] = args[i]
            elif arg.arg in kwargs:
                local[arg.arg] = kwargs.pop(arg.arg)
            else:
                d = i - (len(params) - len(defaults))
                if d < 0:
                    raise StaticError(node, f"missing argument {arg.arg}")
                local[arg.arg] = self.eval(defaults[d], fn.env)
        for arg, default in zip(spec.kwonlyargs, spec.kw_defaults, strict=True):
            if arg.arg in kwargs:
                local[arg.arg] = kwargs.pop(arg.arg)
            elif default is not None:
                local[arg.arg] = self.eval(default, fn.env)
            else:
                raise StaticError(node, f"missing argument {arg.arg}")
        if len(args) > len(params) or kwargs:
            raise StaticError(node, "unexpected arguments")
        self.depth += 1
        try:
            if isinstance(fn.node, ast.Lambda):
                return self.eval(fn.node.body, local)
            try:
                self.exec_block(fn.node.body, local, None, module_level=False)
            except _Stop as stop:
                return stop.value
            return None
        finally:
            self.depth -= 1

    def _call_known(self, path: str, args: list[Any], kwargs: dict[str, Any], node: ast.AST) -> Any:
        mod, _, fname = path.rpartition(".")
        if mod == "hyperopt.hp":
            return _hp_call(fname, args, kwargs, node)
        if mod == "hyperopt.pyll.scope":
            if fname in ("int", "float") and len(args) == 1 and not kwargs:
                return Node(fname, [args[0]])
            raise StaticError(node, f"scope.{fname} is not read statically")
        for v in [*args, *kwargs.values()]:
            if is_node(v) and fname not in (
                "list",
                "tuple",
                "dict",
                "len",
                "zip",
                "enumerate",
                "reversed",
            ):
                raise StaticError(node, f"{fname}() of an hp expression")
        table = {"math": _MATH_FUNCS, "numpy": _NUMPY_FUNCS, "builtins": _BUILTINS}.get(mod)
        fn = table.get(fname) if table else None
        if fn is None:
            raise StaticError(node, f"{path}() is not read statically")
        result = fn(*args, **kwargs)
        if isinstance(result, (zip, enumerate, reversed)):
            result = list(result)
            if len(result) > MAX_SEQ:
                raise StaticError(node, "sequence too long")
        if isinstance(result, range):
            result = list(result)
        return result


class _Bound:
    """``d.items()`` and friends on a dict we hold."""

    __slots__ = ("attr", "base")

    def __init__(self, base: dict[Any, Any], attr: str) -> None:
        self.base = base
        self.attr = attr

    def call(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        result = getattr(self.base, self.attr)(*args, **kwargs)
        return list(result) if self.attr in ("items", "keys", "values") else result


# --------------------------------------------------------------------------- hp calls


def _hp_call(fname: str, args: list[Any], kwargs: dict[str, Any], node: ast.AST) -> Any:
    if fname not in KINDS:
        raise StaticError(node, f"hp.{fname} is not an hp distribution", final=True)
    if args:
        label, rest = args[0], args[1:]
    elif "label" in kwargs:
        label, rest = kwargs.pop("label"), []
    else:
        raise StaticError(node, f"hp.{fname} without a label", final=True)
    if not isinstance(label, str):
        # a value we could not evaluate may be a string when the script runs; a number is not
        raise StaticError(node, "the label is not a string", final=not isinstance(label, _Unknown))
    if fname == "choice":
        options = rest[0] if rest else kwargs.pop("options", None)
        if isinstance(options, range):
            options = list(options)
        if not isinstance(options, (list, tuple)) or kwargs or len(rest) > 1:
            raise StaticError(node, "hp.choice needs a list of options")
        selector = Node("hyperopt_param", [label, Node("randint", [len(options)])])
        return Node("switch", [selector, *options])
    if fname == "pchoice":
        pairs = rest[0] if rest else kwargs.pop("p_options", None)
        if not isinstance(pairs, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs
        ):
            raise StaticError(node, "hp.pchoice needs a list of (probability, option) pairs")
        _known_numbers([p for p, _ in pairs], node, fname)
        probs = [_num(p) for p, _ in pairs]
        selector = Node("hyperopt_param", [label, Node("categorical", [probs])])
        return Node("switch", [selector, *[o for _, o in pairs]])
    _known_numbers([*rest, *kwargs.values()], node, fname)
    for v in [*rest, *kwargs.values()]:
        if is_node(v):
            raise StaticError(node, f"hp.{fname} with an hp expression as an argument")
        if isinstance(v, float) and not math.isfinite(v):
            raise StaticError(node, f"hp.{fname} with an argument that is not finite ({v})")
    if fname == "randint":
        return Node(
            "int", [Node("hyperopt_param", [label, Node("randint", rest, list(kwargs.items()))])]
        )
    if fname == "uniformint":
        kwargs["q"] = 1.0
        inner = Node("quniform", rest, list(kwargs.items()))
        return Node("int", [Node("float", [Node("hyperopt_param", [label, inner])])])
    return Node("float", [Node("hyperopt_param", [label, Node(fname, rest, list(kwargs.items()))])])


# --------------------------------------------------------------------------- helpers


def _known_numbers(values: list[Any], node: ast.AST, fname: str) -> None:
    """An argument imported from another module (``from settings import HIGH``) or got
    from a call we do not evaluate: say which, with the line, not "not numbers" later."""
    for v in values:
        if isinstance(v, _Fn):
            raise StaticError(node, f"hp.{fname} with {v.path}, which is not read statically")
        if isinstance(v, _Mod):
            raise StaticError(node, f"hp.{fname} with module {v.path} as an argument")


def _known_function(path: str) -> bool:
    mod, _, fname = path.rpartition(".")
    if mod in ("hyperopt.hp", "hyperopt.pyll.scope"):
        return True
    table = {"math": _MATH_FUNCS, "numpy": _NUMPY_FUNCS, "builtins": _BUILTINS}.get(mod)
    return table is not None and fname in table


def _module_value(path: str) -> Any:
    if path in ("hyperopt", "hyperopt.hp", "hyperopt.pyll", "hyperopt.pyll.base", "math", "numpy"):
        return _Mod(_HYPEROPT_MODULES[path])
    return _Mod(path)


def _from_import(module: str, name: str, level: int) -> Any:
    if level:
        return _Mod(f".{module}.{name}")
    full = f"{module}.{name}"
    if full in ("hyperopt.hp",):
        return _Mod("hyperopt.hp")
    if full in ("hyperopt.pyll", "hyperopt.pyll.base"):
        return _Mod(full)
    if module == "hyperopt.hp" or (module == "hyperopt.pyll_utils" and name.startswith("hp_")):
        return _Fn("hyperopt.hp." + name.removeprefix("hp_"))
    if module in ("hyperopt.pyll", "hyperopt.pyll.base") and name == "scope":
        return _Mod("hyperopt.pyll.scope")
    if module == "hyperopt" and name == "pyll":
        return _Mod("hyperopt.pyll")
    if module in ("math", "numpy"):
        return _attribute(_Mod(module), name, None)
    return _Fn(full)


def _attribute(base: _Mod, attr: str, node: ast.AST | None) -> Any:
    path = f"{base.path}.{attr}"
    if path in _CONSTANTS:
        return _CONSTANTS[path]
    if path in ("hyperopt.hp", "hyperopt.pyll"):
        return _Mod(path)
    if path in ("hyperopt.pyll.scope", "hyperopt.pyll.base"):
        return _Mod("hyperopt.pyll.scope" if attr == "scope" else path)
    if path == "hyperopt.pyll.base.scope":
        return _Mod("hyperopt.pyll.scope")
    if base.path == "numpy" and attr == "random":
        return _Mod("numpy.random")
    return _Fn(path)


def _kind(value: Any) -> str:
    if isinstance(value, _Fn):
        return f"{value.path}()"
    if isinstance(value, _Mod):
        return f"module {value.path}"
    return type(value).__name__


def _iterable(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, (list, tuple, str, range)):
        if len(value) > MAX_SEQ:
            raise ValueError("sequence too long")
        return list(value)
    raise TypeError(f"cannot iterate over {_kind(value)}")


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if is_node(value):
        raise TypeError("an hp expression as a dict key")
    return value


def _holds_hp(value: Any, depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether ``value`` holds an hp node; shared containers are visited once."""
    if depth > 50:
        return False
    if is_node(value):
        return True
    if not isinstance(value, (dict, list, tuple)):
        return False
    seen = set() if seen is None else seen
    if id(value) in seen:
        return False
    seen.add(id(value))
    items = value.values() if isinstance(value, dict) else value
    return any(_holds_hp(v, depth + 1, seen) for v in items)


def _targets(stmt: ast.AST) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return [stmt.target]
    return []


def _names_in_target(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _names_in_target(e)]
    if isinstance(target, ast.Starred):
        return _names_in_target(target.value)
    return []


def _all_args(args: ast.arguments) -> list[ast.arg]:
    out = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    out += [a for a in (args.vararg, args.kwarg) if a is not None]
    return out


def _load(target: ast.expr) -> ast.expr:
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copy, target)


def _contains(stmt: ast.AST, target: ast.AST) -> bool:
    return any(n is target for n in ast.walk(stmt))


def _is_main_test(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )


def _line_node(lineno: int, lines: list[str]) -> ast.AST:
    text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else "?"
    node = ast.Name(id=text)
    node.lineno = lineno
    return node
