"""The trials table as CSV, JSON lines or one JSON document (the ``export`` command)."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from typing import Any

from .escape import csv_cell, json_text

SCHEMA = "hopt-inspect/export/1"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def to_csv(columns: list[str], rows: list[list[Any]]) -> str:
    """RFC 4180 CSV; empty cells for missing values; NaN and inf as pandas reads them.

    Text from the file (labels, states, messages) has its control characters escaped and,
    when it would start a spreadsheet formula, a leading ``'`` (OWASP); numbers stay numbers.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow(
            [
                "" if v is None else v.isoformat() if isinstance(v, datetime) else csv_cell(v)
                for v in row
            ]
        )
    return buffer.getvalue()


def to_jsonl(columns: list[str], rows: list[list[Any]]) -> str:
    lines = (
        json.dumps(
            {c: _json_value(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False
        )
        for row in rows
    )
    return "".join(json_text(line) + "\n" for line in lines)


def to_json(columns: list[str], rows: list[list[Any]], source: str, space: str | None) -> str:
    doc = {
        "schema": SCHEMA,
        "source": source,
        "space_source": space,
        "columns": columns,
        "trials": [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows],
    }
    return json_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)) + "\n"
