"""What each notebook step saves: the steps of :mod:`.steps` wrapped as results that declare their exhibits.

The notebook runs one step per cell and writes it with ``out.save(step)`` (:mod:`studykit.contract.exhibits`); each
class lists its tables, figures, numbers and data issues in the order they are written, with captions built
from the run's parameters (the confidence level, the correction, the primary metric).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from studykit.contract.exhibits import Figure, Record, Table, html_view
from studykit.contract.issues import DataIssue

from . import flips, plots, steps

Namer = Callable[[Any], str]


@dataclass(frozen=True)
class Data:
    """The data read (and adapted from MedPerturb or BBQ) and its design: items, models, pairs."""

    data: Any
    design: Any
    read_issues: tuple[DataIssue, ...]
    design_issues: tuple[DataIssue, ...]

    def exhibits(self, name: Namer) -> list:
        return [*self.read_issues, *self.design_issues]

    def lines(self) -> list[str]:
        d = self.design
        return [f"{self.data.n_rows:,} rows; {d.n_items} items; models: {', '.join(d.models)}",
                f"pairs (target -> baseline): {d.pairs} | positive label per task: {d.positive_labels}"]

    def _repr_html_(self) -> str:
        return html_view(self.lines(), steps.issues_frame(self.read_issues + self.design_issues))


def data(params) -> Data:
    raw, read_issues = steps.read_data(params)
    design, design_issues = steps.check_design(raw, params)
    return Data(raw, design, tuple(read_issues), tuple(design_issues))


@dataclass(frozen=True)
class Defects:
    """The audit of the baseline rows (MedPerturb): which are paraphrases and which are not."""

    data: Any

    def exhibits(self, name: Namer) -> list:
        if not len(self.data.defects):
            return []
        return [Table("defective_baselines", self.data.defects, "Baseline rows audited for being paraphrases"),
                Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, int]:
        """``defective.n_flagged`` and ``defective.n_baseline_rows`` (MedPerturb; nothing otherwise)."""
        defects = self.data.defects
        if defects.empty:
            return {}
        return {"defective.n_flagged": int(defects["defective"].sum()), "defective.n_baseline_rows": len(defects)}

    def _repr_html_(self) -> str:
        d = self.data.defects
        if not len(d):
            return html_view(["No baseline audit (not MedPerturb data)."])
        return d[d["defective"]].groupby("variant").size().rename("flagged").to_frame().to_html()


@dataclass(frozen=True)
class FlipRates:
    """Flip rates of every variant against the original answer (Wilson CIs)."""

    rates: pd.DataFrame
    design: Any
    confidence: float

    def exhibits(self, name: Namer) -> list:
        return [Table("flip_rates", self.rates, "Flip rate vs the original answer, per model x task x variant "
                      "(Wilson CI)"),
                Figure("flip_rates", lambda: plots.flip_rate_dots(self.rates), "Flip rates of each target (red) "
                       f"and its paraphrase baseline (grey), Wilson {self.confidence:.0%} CI"),
                Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, Any]:
        """``n_items``, ``n_models`` and ``flip_rate.<model>.<task>.<variant>``."""
        return {**self.design.records(name), **flips.flip_rate_records(self.rates, name)}

    def _repr_html_(self) -> str:
        return html_view(frame=self.rates.head(12))


def flip_rates(d: Data, params) -> FlipRates:
    return FlipRates(steps.flip_rates(d.design, params), d.design, params.confidence)


@dataclass(frozen=True)
class Tests:
    """Target vs baseline tests, corrected within the primary family and within the secondary family."""

    family: Any
    issues: tuple[DataIssue, ...]
    correction: str
    confidence: float

    def exhibits(self, name: Namer) -> list:
        f = self.family
        out: list = [*self.issues,
                     Table("tests", f.table, f"Target vs baseline tests; p adjusted by {self.correction} within the "
                           f"primary family ({f.primary_metric}) and within the secondary family",
                           tex_columns=plots.tests_tex_columns(self.confidence, self.correction))]
        if f.n_tests:
            out.append(Figure("tests_flip_rate", lambda: plots.test_forest(f.table, "flip_rate"),
                              "Flip-rate difference target - baseline with paired bootstrap CI (filled: significant "
                              "after correction)"))
        return out + [Record("", f.records(name))]

    def line(self) -> str:
        f = self.family
        return (f"primary ({f.primary_metric}): {f.n_significant_primary} of {f.n_tests_primary} significant; "
                f"all: {f.n_significant} of {f.n_tests} after {self.correction} within each family")

    def _repr_html_(self) -> str:
        return html_view([self.line()], self.family.table[self.family.table["significant"]])


def tests(d: Data, params) -> Tests:
    family, issues = steps.compare(d.design, params)
    return Tests(family, tuple(issues), params.correction, params.confidence)


@dataclass(frozen=True)
class Sensitivity:
    """MedPerturb: the flip-rate tests again with the defective baselines kept (None otherwise)."""

    table: pd.DataFrame | None
    family: Any
    rates: pd.DataFrame | None
    correction: str
    confidence: float

    def exhibits(self, name: Namer) -> list:
        if self.table is None:
            return []
        return [Table("tests_with_defective", self.table, "Flip-rate tests with defective baselines excluded (main) "
                      "and included (suffix _with_defective)",
                      tex_columns=plots.tests_with_defective_tex_columns(self.confidence, self.correction)),
                Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, Any]:
        """The second run's ``sensitivity.diff.*``, ``sensitivity.n_tests``, ``sensitivity.n_significant`` (and the
        other counts of :meth:`.family.Comparisons.records`) and ``sensitivity.flip_rate.*`` of the baselines."""
        if self.table is None:
            return {}
        rec = self.family.records(name)
        rec.update({k: v for k, v in flips.flip_rate_records(self.rates, name).items() if k.endswith("_baseline")})
        return {f"sensitivity.{k}": v for k, v in rec.items()}

    def _repr_html_(self) -> str:
        if self.table is None:
            return html_view(["No sensitivity run (MedPerturb with exclude_defective only)."])
        return html_view(frame=self.table)


def sensitivity(d: Data, t: Tests, params) -> Sensitivity:
    if not (d.data.source == "medperturb" and params.exclude_defective):
        return Sensitivity(None, None, None, params.correction, params.confidence)
    return Sensitivity(*steps.sensitivity_with_defective(params, t.family), params.correction, params.confidence)


@dataclass(frozen=True)
class Direction:
    """The directional regression (cluster-robust by item) when the data have directional edits."""

    effects: Any
    issues: tuple[DataIssue, ...]
    confidence: float

    def exhibits(self, name: Namer) -> list:
        out: list = list(self.issues)
        table = self.effects.table
        if len(table):
            out += [Table("direction", table, "Directional regression: beta per unit of direction, cluster-robust "
                          "(by item) CI; gamma = coefficient of the baseline change (blank: no control)",
                          tex_columns=plots.direction_tex_columns(self.confidence)),
                    Figure("direction", lambda: plots.direction_plot(table), "Directional coefficient with "
                           f"cluster-robust {self.confidence:.0%} CI (pooled first)"),
                    Record("", self.effects.records(name))]
        return out

    def _repr_html_(self) -> str:
        if not len(self.effects.table):
            return html_view(["No directional edits in the data (no 'direction' column): section skipped."])
        return html_view(frame=self.effects.table)


def direction(d: Data, params) -> Direction:
    effects, issues = steps.directional(d.design, params)
    return Direction(effects, tuple(issues), params.confidence)


@dataclass(frozen=True)
class Power:
    """Simulated power at the data's size, for aggregate, per-sample and regression metrics."""

    table: pd.DataFrame
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Namer) -> list:
        out: list = [*self.issues, Table("power", self.table, "Simulated power at the data's size (Wilson 95% band "
                                         "for Monte Carlo error)", tex_columns=plots.power_tex_columns(self.table.columns))]
        if len(self.table):
            out.append(Figure("power_curves", lambda: plots.power_plot(self.table), "Power of aggregate, per-sample "
                              "and regression metrics against a planted attribute effect"))
        return out + [Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, float]:
        """``power.<scenario>.<metric>.d<effect>`` for every simulated point (names from the parameters, not the
        data), and ``power.concordance`` (the concordance of target and baseline flips it assumed)."""
        power = self.table
        out = {f"power.{r.scenario}.{r.metric}.d{r.effect:g}": float(r.power) for r in power.itertuples()}
        if len(power) and "concordance" in power.columns:
            out["power.concordance"] = float(power["concordance"].iloc[0])
        return out

    def _repr_html_(self) -> str:
        p = self.table
        return (p.pivot_table(index=["scenario", "effect"], columns="metric", values="power") if len(p) else p).to_html()


def power(d: Data, t: Tests, params) -> Power:
    table, issues = steps.power_curves(d.design, t.family, params)
    return Power(table, tuple(issues))


@dataclass(frozen=True)
class Recovery:
    """Planted vs estimated when the simulator's truth lies beside the data (None otherwise)."""

    table: pd.DataFrame | None
    summary: Any
    confidence: float

    def exhibits(self, name: Namer) -> list:
        if self.table is None:
            return []
        return [Table("recovery", self.table, "Planted vs estimated (flip-rate differences and directional betas)",
                      tex_columns=plots.recovery_tex_columns(self.confidence)),
                Record("recovery", self.summary)]

    def _repr_html_(self) -> str:
        if self.table is None:
            return html_view(["No truth files beside the data: real data, nothing to recover."])
        return html_view(frame=self.table)


def recovery(t: Tests, dr: Direction, params) -> Recovery:
    found = steps.recovery(t.family, dr.effects, params)
    return Recovery(*(found if found is not None else (None, None)), params.confidence)
