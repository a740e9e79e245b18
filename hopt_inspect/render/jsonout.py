"""Result objects to one JSON document (the ``--json`` output of every command)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, mappings and sequences to JSON types; NaN and inf as strings.

    Result objects are shallow and made by us, so plain recursion is safe here.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if "schema" in out:  # the schema leads the document
            out = {"schema": out.pop("schema"), **out}
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return to_jsonable(obj.item())
    return str(obj)


def dumps(result: Any) -> str:
    from .escape import json_text  # C1 controls and lone surrogates as \uNNNN

    return json_text(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False, allow_nan=False))
