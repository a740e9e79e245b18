"""hp graphs as plain data → SearchSpace, without hyperopt and without running anything.

Two producers build the same shape of graph, the shape ``hyperopt.pyll`` builds:

- the static script reader (``scriptspace``) evaluates ``hp.*`` calls into :class:`Node`;
- the safe unpickler rebuilds pickled pyll ``Apply``/``Literal`` objects as stand-ins
  (``loading.safe_pickle.ApplyStandIn``) that carry ``name``, ``pos_args``, ``named_args``
  and, for literals, ``_obj``.

A node is anything with a string ``name``; plain Python values (numbers, strings, dicts,
lists) stand where pyll would hold a ``Literal``. This module imports nothing of hyperopt:
``space_from_graph`` is what ``resolve.space_from_hp`` computes from a live hp space.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import InputError
from .space import SIGNATURES, Param, SearchSpace

MAX_NODES = 200_000


class Node:
    """One pyll-shaped application: ``name(*pos_args, **dict(named_args))``."""

    __slots__ = ("name", "named_args", "pos_args")

    def __init__(self, name: str, pos_args: list[Any], named_args: list[tuple[str, Any]] = ()):
        self.name = name
        self.pos_args = list(pos_args)
        self.named_args = list(named_args)

    def __repr__(self) -> str:
        return f"<{self.name}>"


def is_node(value: Any) -> bool:
    return isinstance(getattr(value, "name", None), str) and hasattr(value, "pos_args")


def _pos(node: Any) -> list[Any]:
    args = getattr(node, "pos_args", None)
    return list(args) if isinstance(args, (list, tuple)) else []


def _named(node: Any) -> list[tuple[str, Any]]:
    args = getattr(node, "named_args", None)
    out = []
    for pair in args if isinstance(args, (list, tuple)) else ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str):
            out.append((pair[0], pair[1]))
    return out


def literal(value: Any, what: str = "an argument") -> Any:
    """The plain value of a literal (pyll ``Literal``, a ``pos_args`` list, or a value)."""
    if not is_node(value):
        return value
    if value.name == "literal":
        return getattr(value, "_obj", None)
    if value.name == "pos_args":
        return [literal(v, what) for v in _pos(value)]
    if value.name in ("float", "int") and len(_pos(value)) == 1:
        inner = literal(_pos(value)[0], what)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return float(inner) if value.name == "float" else int(inner)
    raise InputError(f"the stored space computes {what} with {value.name}(...): not a literal")


def _walk(root: Any) -> Iterator[tuple[Any, Any, tuple[tuple[str, int], ...], bool]]:
    """(hyperopt_param node, switch or None, conditions, int-wrapped) for each label use."""
    stack: list[tuple[Any, tuple[tuple[str, int], ...], Any]] = [(root, (), None)]
    seen: set[tuple[int, tuple[tuple[str, int], ...]]] = set()
    count = 0
    while stack:
        node, conds, parent = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(f"the space graph has more than {MAX_NODES} nodes")
        if isinstance(node, dict):
            stack.extend((v, conds, None) for v in node.values())
            continue
        if isinstance(node, (list, tuple)):
            stack.extend((v, conds, None) for v in node)
            continue
        if not is_node(node):
            continue
        key = (id(node), conds)
        if key in seen:
            continue
        seen.add(key)
        name = node.name
        if name == "literal":
            value = getattr(node, "_obj", None)
            if isinstance(value, (dict, list, tuple)):
                stack.append((value, conds, None))
            continue
        pos = _pos(node)
        if name == "hyperopt_param":
            switch = parent if is_node(parent) and parent.name == "switch" else None
            yield node, switch, conds, False
            continue
        if name == "int" and pos and is_node(pos[0]):
            inner = _pos(pos[0])
            if pos[0].name == "float" and inner and is_node(inner[0]):  # noqa: SIM102
                if inner[0].name == "hyperopt_param":
                    yield inner[0], None, conds, True
        if name == "switch" and pos:
            selector = pos[0]
            stack.append((selector, conds, node))
            if is_node(selector) and selector.name == "hyperopt_param":
                label = _label(selector)
                for i, branch in enumerate(pos[1:]):
                    stack.append((branch, (*conds, (label, i)), node))
                continue
        for child in pos:
            stack.append((child, conds, node))
        for _, child in _named(node):
            stack.append((child, conds, node))


def _label(param_node: Any) -> str:
    pos = _pos(param_node)
    label = literal(pos[0], "a label") if pos else None
    if isinstance(label, bytes):
        label = label.decode("utf-8", "replace")
    if not isinstance(label, str):
        raise InputError("the space has an hp parameter whose label is not a string")
    return label


def plain_option(value: Any, text: str) -> Any:
    """An option as written when it is a plain literal (int, float, str, bool, None; numpy
    scalars as their Python value), else its display ``text``."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return text
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return text


_NOT_PLAIN = object()
_MAX_PLAIN_ITEMS = 200


def plain_container(value: Any) -> Any:
    """An option built only of plain literals — ``(50, 50)``, ``[1, 2]``, ``{"name":
    "adam", "beta": 0.9}``, nested — as that Python value (pyll's ``pos_args`` as the
    tuple hyperopt passes, its ``dict`` as a dict), else ``_NOT_PLAIN`` (an hp node inside,
    anything else, or more than a few hundred items)."""
    budget = [_MAX_PLAIN_ITEMS]

    def conv(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > 20:
            return _NOT_PLAIN
        if is_node(v):
            if v.name == "literal":
                return conv(getattr(v, "_obj", None), depth + 1)
            if v.name == "pos_args" and not _named(v):
                items = [conv(x, depth + 1) for x in _pos(v)]
                return _NOT_PLAIN if any(x is _NOT_PLAIN for x in items) else tuple(items)
            if v.name == "dict":  # pyll: dict(pos_args(pos_args(k, v), ...)) for non-str keys
                pairs = [(k, conv(x, depth + 1)) for k, x in _named(v)]
                for item in _pos(v):
                    for pair in conv(item, depth + 1) if is_node(item) else (_NOT_PLAIN,):
                        if not (isinstance(pair, tuple) and len(pair) == 2):
                            return _NOT_PLAIN
                        pairs.append(pair)
                if any(x is _NOT_PLAIN for _, x in pairs):
                    return _NOT_PLAIN
                try:
                    return conv(dict(pairs), depth + 1) if _pos(v) else dict(pairs)
                except TypeError:  # an unhashable key
                    return _NOT_PLAIN
            return _NOT_PLAIN
        if isinstance(v, (list, tuple)):
            items = [conv(x, depth + 1) for x in v]
            if any(x is _NOT_PLAIN for x in items):
                return _NOT_PLAIN
            return items if isinstance(v, list) else tuple(items)
        if isinstance(v, dict):
            if not all(
                k is None
                or isinstance(k, (bool, int, str))
                or (isinstance(k, float) and math.isfinite(k))
                for k in v
            ):
                return _NOT_PLAIN
            pairs = [(k, conv(x, depth + 1)) for k, x in v.items()]
            return _NOT_PLAIN if any(x is _NOT_PLAIN for _, x in pairs) else dict(pairs)
        plain = plain_option(v, _NOT_PLAIN)  # type: ignore[arg-type]
        if isinstance(plain, float) and not math.isfinite(plain):
            return _NOT_PLAIN
        return plain

    return conv(value, 0)


def _container_text(value: Any) -> str | None:
    """``repr`` of an option that is a container of plain literals, else None."""
    if not (is_node(value) or isinstance(value, (list, tuple, dict))):
        return None
    plain = plain_container(value)
    return repr(plain) if isinstance(plain, (list, tuple, dict)) else None


def option_value(value: Any) -> Any:
    """An option of a choice as written (``plain_option``, or a container of them), for the
    space command and export."""
    if is_node(value) and value.name == "literal":
        return option_value(getattr(value, "_obj", None))
    if is_node(value) or isinstance(value, (list, tuple, dict)):
        plain = plain_container(value)
        return option_text(value) if plain is _NOT_PLAIN else plain
    return plain_option(value, option_text(value))


def option_text(value: Any) -> str:
    """How an option of a choice is shown (as ``resolve.space_from_hp`` shows it)."""
    text = _container_text(value)
    if text is not None:
        return text
    if is_node(value):
        if value.name == "literal":
            return option_text(getattr(value, "_obj", None))
        if value.name == "dict":
            keys = sorted(k for k, _ in _named(value))
            return "{" + ", ".join(keys[:4]) + (", …" if len(keys) > 4 else "") + "}"
        pos = _pos(value)
        if value.name == "float" and pos and is_node(pos[0]) and pos[0].name == "hyperopt_param":
            return f"<{_label(pos[0])}>"
        return f"<{value.name}>"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        keys = sorted(str(k) for k in value)
        return "{" + ", ".join(keys[:4]) + (", …" if len(keys) > 4 else "") + "}"
    if isinstance(value, (list, tuple)):
        return "<pos_args>"
    return repr(value)


def gather_uses(uses: Iterable[tuple[Any, Any, Any, bool]], label_of: Any) -> dict[str, Any]:
    """label → what the walk found around it (its node, choice switch, paths of conditions,
    scope.int), from the (node, switch, conditions, int-wrapped) uses of a walk over an hp
    graph: the data one here, or ``resolve``'s over imported hp objects. Two different
    nodes with one label are refused, as hyperopt refuses them."""
    found: dict[str, dict[str, Any]] = {}
    for node, switch, conds, int_wrapped in uses:
        label = label_of(node)
        entry = found.setdefault(label, {"node": node, "switch": None, "paths": [], "int": False})
        if entry["node"] is not node:  # hyperopt's own check (pyll_utils.expr_to_config)
            raise InputError(
                f"two different hp parameters share the label {label!r}; hyperopt"
                " refuses such a space (DuplicateLabel): give each its own label"
            )
        entry["switch"] = entry["switch"] or switch
        entry["int"] = entry["int"] or int_wrapped
        if not int_wrapped:
            entry["paths"].append(conds)
    return found


def space_from_graph(root: Any, *, source: str, origin: str) -> SearchSpace:
    """The SearchSpace of an hp graph given as data (Node / stand-ins / plain values)."""
    found = gather_uses(_walk(root), _label)
    if not found:
        raise InputError(f"{source}: holds no hp.* parameters")
    params = {label: _param(label, entry) for label, entry in found.items()}
    return SearchSpace(dict(sorted(params.items())), source, origin=origin)


def _param(label: str, entry: dict[str, Any]) -> Param:
    pos = _pos(entry["node"])
    dist = pos[1] if len(pos) > 1 else None
    if not is_node(dist):
        raise InputError(f"parameter {label!r}: no distribution in the stored space")
    what = f"parameter {label!r}'s arguments"
    args_pos = [literal(a, what) for a in _pos(dist)]
    named = {k: literal(v, what) for k, v in _named(dist) if k not in ("rng", "size")}
    switch = entry["switch"]
    branches = _pos(switch)[1:] if switch is not None else None
    options = tuple(option_text(b) for b in branches) if branches is not None else None
    values = tuple(option_value(b) for b in branches) if branches is not None else None
    return param_from_args(label, dist.name, args_pos, named, entry, options, values)


def param_from_args(
    label: str,
    name: str,
    args_pos: list[Any],
    named: dict[str, Any],
    entry: dict[str, Any],
    options: tuple[str, ...] | None,
    option_values: tuple[Any, ...] | None = None,
) -> Param:
    """A ``Param`` from one hp distribution node's name and evaluated arguments, and what
    the walk found around it (``entry``: paths of conditions, a choice switch, scope.int).
    Shared by the data reader here and by ``resolve`` for imported hp objects."""
    paths = entry["paths"] or [()]
    conditional = () if any(not p for p in paths) else tuple(dict.fromkeys(paths))
    switch = entry["switch"]
    if name == "categorical":
        p = args_pos[0] if args_pos else named.get("p")
        if not isinstance(p, (list, tuple)):
            raise InputError(f"parameter {label!r}: pchoice without probabilities")
        return Param(
            label,
            "pchoice",
            p=tuple(float(x) for x in p),
            options=options or tuple(str(i) for i in range(len(p))),
            option_values=option_values if options else tuple(range(len(p))),
            conditional=conditional,
        )
    if name not in SIGNATURES:
        raise InputError(f"parameter {label!r}: unsupported hyperopt distribution {name!r}")
    args = dict(zip(SIGNATURES[name], args_pos, strict=False))
    args.update(named)
    unknown = set(args) - set(SIGNATURES[name])
    if unknown:
        raise InputError(f"parameter {label!r}: {name} has no argument {sorted(unknown)[0]!r}")
    try:
        values = {k: None if v is None else float(v) for k, v in args.items()}
    except (TypeError, ValueError) as exc:
        raise InputError(f"parameter {label!r}: {name} arguments are not numbers") from exc
    kind = name
    if kind == "randint" and switch is not None:
        kind = "choice"
    elif kind == "quniform" and entry["int"] and values.get("q") == 1.0:
        kind = "uniformint"
    return Param(
        label, kind, options=options, option_values=option_values if options is not None
        else None, conditional=conditional, **values,
    )  # fmt: skip
