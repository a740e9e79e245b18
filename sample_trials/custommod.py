"""A user's own result class, as people return from objectives (``{'model': EvalRecord(...)}``).

``failures.p`` holds instances of it: the safe loader shows them as ``<custommod.EvalRecord>``
placeholders; ``--trust`` needs this module importable to rebuild them.
"""

from __future__ import annotations


class EvalRecord:
    def __init__(self, epochs: int, note: str) -> None:
        self.epochs = epochs
        self.note = note

    def __repr__(self) -> str:
        return f"EvalRecord(epochs={self.epochs}, note={self.note!r})"
