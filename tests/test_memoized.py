"""Results computed once per study (Study.memoized) stay what a fresh computation gives."""

from __future__ import annotations

from conftest import SAMPLES

from hopt_inspect.efficiency import _analyse, analyse
from hopt_inspect.loading import load_study
from hopt_inspect.tpe import TPESettings


def test_analyse_once_per_study_and_arguments_including_the_startup_source():
    study = load_study(SAMPLES / "qlearn.p")
    default = analyse(study, TPESettings())
    given = analyse(study, TPESettings(startup_source="--n-startup-jobs"))
    # equal settings by __eq__ (startup_source is not compared), different sentences
    assert default.result.evidence["startup_assumed"] is True
    assert given.result.evidence["startup_assumed"] is False
    assert analyse(study, TPESettings()) is default
    fresh = _analyse(study, TPESettings(), n_startup=None, sampler_kind=None)
    assert fresh.result == default.result and fresh.startup == default.startup
    other = analyse(study, TPESettings(), n_startup=5)
    assert other is not default and other.startup == 5


def test_tpe_history_is_computed_once_and_handed_out_as_a_copy():
    study = load_study(SAMPLES / "failures.p")
    first = study.tpe_history()
    first.clear()  # a caller's list: the study's own stays whole
    again = study.tpe_history()
    assert again and again == study._tpe_history() and again is not study.tpe_history()
    assert study.tpe_history(10) == study._tpe_history(10)
