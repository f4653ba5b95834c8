"""The replication scorecard: verdict rules, the shipped headlines against the shipped reference values.

Unit: one (headline, profile) cell computed from a results mapping; one shipped ``scorecard.yaml`` file.
"""
from __future__ import annotations

import json

import pytest

from studykit.runs.check import reference_path
from studykit.contract.errors import ParamError
from studykit.site.scorecard import Headline, load_headlines, score, scorecard_path
from studykit.contract.registry import names


def _cell(rule, results, keys=None, **kw):
    keys = keys or {"estimate": "e", "low": "lo", "high": "hi"}
    h = Headline("s", "h", "paper", rule, profiles={"real": keys}, **kw)
    return score([h], {("s", "real"): results} if results is not None else {})[0]


@pytest.mark.parametrize("est,lo,hi,verdict", [
    (0.8, 0.7, 0.9, "agrees"),          # same side as the paper's HR 0.842, interval excludes 1
    (1.2, 1.1, 1.3, "disagrees"),       # the other side, interval excludes 1
    (1.12, 0.73, 1.71, "inconclusive"),  # interval includes 1
])
def test_direction_rule_reads_the_interval(est, lo, hi, verdict):
    c = _cell("direction", {"e": est, "lo": lo, "hi": hi}, paper_value=0.842, no_effect=1.0)
    assert c.verdict == verdict
    assert c.estimate == f"{est:.3g} [{lo:.3g}, {hi:.3g}]"


def test_direction_rule_with_a_p_value_and_no_interval():
    keys = {"estimate": "e", "p": "p"}
    assert _cell("direction", {"e": 0.3, "p": 0.01}, keys, paper_value=0.151, no_effect=0).verdict == "agrees"
    assert _cell("direction", {"e": -0.3, "p": 0.01}, keys, paper_value=0.151, no_effect=0).verdict == "disagrees"
    assert _cell("direction", {"e": 0.3, "p": 0.284}, keys, paper_value=0.151, no_effect=0).verdict == "inconclusive"


def test_covers_threshold_and_describe_rules():
    assert _cell("covers", {"e": 0.7, "lo": 0.6, "hi": 0.8}, paper_value=0.671).verdict == "agrees"
    assert _cell("covers", {"e": 0.56, "lo": 0.5, "hi": 0.63}, paper_value=0.671).verdict == "disagrees"
    frac = {"estimate": "k", "of": "n"}
    c = _cell("at_most", {"k": 0, "n": 12}, frac, value=0.1)
    assert (c.verdict, c.estimate) == ("agrees", "0 of 12")
    assert _cell("at_most", {"k": 4, "n": 6}, frac, value=0.1).verdict == "disagrees"
    assert _cell("at_least", {"k": 9, "n": 13}, frac, value=0.5).verdict == "agrees"
    assert _cell("describe", {"e": 3.0}, {"estimate": "e"}).verdict == "compare (no rule)"


def test_cells_without_a_run_a_key_or_a_number_say_so():
    assert _cell("describe", None, {"estimate": "e"}).verdict == "not run (studykit run s --profile real)"
    assert _cell("describe", {"x": 1}, {"estimate": "e"}).verdict == "missing in results.json: e"
    assert _cell("describe", {"e": None}, {"estimate": "e"}).verdict == "not estimable"
    no_data = score([Headline("s", "h", "paper", "describe")], {})
    assert [(c.profile, c.verdict) for c in no_data] == [("", "no real data")]


@pytest.mark.parametrize("text,needle", [
    ("- {headline: h, paper: p, rule: guess}", "rule 'guess' is not one of"),
    ("- {headline: h, paper: p, rule: describe, colour: red}", "unknown key 'colour'"),
    ("- {headline: h, paper: p, rule: direction, no_effect: 1, paper_value: 0.8, profiles: {r: {estimate: e}}}",
     "profile 'r': rule direction needs 'low'"),
    ("- {headline: h, paper: p, rule: at_most, profiles: {r: {estimate: e}}}", "rule at_most needs 'value'"),
    ("- {headline: h, rule: describe}", "'paper' must be a non-empty text"),
    ("- {headline: h, paper: p, rule: describe, profiles: {r: {estimate: e, colour: red}}}",
     "profile 'r': unknown key 'colour'"),
    ("{headline: h}", "a list of headlines"),
])
def test_a_bad_scorecard_file_is_one_line_naming_the_file_and_key(tmp_path, monkeypatch, text, needle):
    f = tmp_path / "scorecard.yaml"
    f.write_text(text + "\n")
    monkeypatch.setattr("studykit.site.scorecard.scorecard_path", lambda study: f)
    with pytest.raises(ParamError) as err:
        load_headlines(["s"])
    assert needle in str(err.value) and str(f) in str(err.value) and "\n" not in str(err.value)


def test_shipped_headlines_name_keys_that_their_profiles_write():
    """Every results.json key a shipped scorecard names is in that profile's shipped reference values, and the
    cells computed from those values all reach a verdict (so the page of a full reproduce has no gaps)."""
    headlines = load_headlines(names())
    assert {h.study for h in headlines} == {s for s in names() if scorecard_path(s).is_file()}
    assert len({h.study for h in headlines}) >= 4
    refs = {}
    for h in headlines:
        for profile in h.profiles:
            refs[(h.study, profile)] = json.loads(reference_path(h.study, profile).read_text())["results"]
    cells = score(headlines, refs)
    bad = [(c.study, c.headline, c.profile, c.verdict) for c in cells
           if c.verdict.startswith(("missing", "not run", "no interval"))]
    assert not bad, bad
    assert any(c.verdict == "no real data" for c in cells) or all(h.profiles for h in headlines)
