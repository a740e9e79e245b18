"""Trial documents from JSON: a list of documents, ``{"trials": [...]}``, or JSON lines.

MongoDB's extended JSON (``{"$date": ...}``, ``{"$numberDouble": "NaN"}``, ``{"$oid": ...}``)
is unwrapped, so a ``mongoexport`` of a MongoTrials jobs collection reads as-is.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from ..errors import InputError

_NUMBER_KEYS = {"$numberDouble": float, "$numberInt": int, "$numberLong": int}


def _parse_date(value: Any) -> Any:
    if isinstance(value, dict):
        value = value.get("$numberLong", value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:  # milliseconds since 1970; NaN, inf and years outside 1..9999 are no time
            return _EPOCH + datetime.timedelta(milliseconds=value)
        except (ValueError, OverflowError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value[:64].replace("Z", "+00:00"))
            if parsed.tzinfo is not None:  # hyperopt's times are naive UTC
                parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return value
        return parsed
    return value


_EPOCH = datetime.datetime(1970, 1, 1)


def _extended(obj: dict[str, Any]) -> Any:
    """object_pairs_hook: unwrap MongoDB extended JSON wrappers."""
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key in _NUMBER_KEYS:
            try:
                return _NUMBER_KEYS[key](value)
            except (TypeError, ValueError):
                return obj
        if key == "$date":
            return _parse_date(value)
        if key == "$oid":
            return str(value)
    for key in ("book_time", "refresh_time"):
        if isinstance(obj.get(key), str):
            obj[key] = _parse_date(obj[key])
    return obj


def _int(text: str) -> int | float:
    """JSON integers; past 4000 digits (``int()`` refuses 4300) the float they round to."""
    return int(text) if len(text) <= 4000 else float(text)


def _parse(path: Path, text: str) -> tuple[Any, str]:
    def hook(pairs: list[tuple[str, Any]]) -> Any:
        return _extended(dict(pairs))

    try:
        return json.loads(text, object_pairs_hook=hook, parse_int=_int), "JSON"
    except json.JSONDecodeError as first_error:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            docs = [json.loads(line, object_pairs_hook=hook, parse_int=_int) for line in lines]
        except json.JSONDecodeError:
            raise InputError(
                f"{path}: not valid JSON (line {first_error.lineno}: {first_error.msg})"
            ) from first_error
        return docs, "JSON lines"


def docs_from_json(path: Path, data: bytes) -> tuple[list[Any], str]:
    text = data.decode("utf-8", errors="replace")
    try:
        obj, container = _parse(path, text)
    except RecursionError as exc:
        raise InputError(f"{path}: JSON nested too deeply") from exc
    except (ValueError, OverflowError, MemoryError) as exc:
        raise InputError(f"{path}: not readable JSON ({str(exc)[:120]})") from exc
    if isinstance(obj, dict) and isinstance(obj.get("trials"), list):
        return obj["trials"], f"{container} object with 'trials'"
    if isinstance(obj, list) and all(isinstance(d, dict) and "result" in d for d in obj[:20]):
        return obj, f"{container} list of trial documents"
    raise InputError(
        f"{path}: JSON that is not a list of hyperopt trial documents"
        " (expected objects with 'tid', 'result' and 'misc')"
    )
