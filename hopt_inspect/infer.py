"""Placeholder during development; replaced below."""

from __future__ import annotations

from .space import SearchSpace, infer_space
from .study import Study


def infer_study_space(study: Study) -> SearchSpace:
    return infer_space(study.observed_values())
