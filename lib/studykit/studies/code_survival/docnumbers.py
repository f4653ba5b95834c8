"""The numbers and parameter defaults that ``docs/studies/code_survival.md`` quotes, generated, not typed.

The doc holds two generated blocks between markers:

- ``numbers``: one row per ``results.json`` key of :data:`KEYS`, with the value of
  each committed profile (rounded for reading by :func:`fmt`); a test runs the
  profiles and compares every cell with the run's ``results.json``;
- ``params``: every parameter of :class:`.schema.Params` with its default,
  generated from the schema; a test compares it with the schema.

Regenerate after a change::

    python -m studykit.studies.code_survival.docnumbers default=outputs/code_survival/default/results.json \\
        workshop=outputs/code_survival/workshop/results.json \\
        agent_repos=outputs/code_survival/agent_repos/results.json \\
        agent_repos_all=outputs/code_survival/agent_repos_all/results.json

A profile not named keeps the column the doc already shows (so one profile's column can be regenerated alone).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Mapping

#: (results.json key, what it is): the numbers the doc quotes, before/after pairs next to each other.
KEYS: tuple[tuple[str, str], ...] = (
    ("data.n_units", "line units"),
    ("data.n_repos", "repositories"),
    ("data.n_agent_units", "agent-written line units"),
    ("clustering.by", "cluster variable"),
    ("clustering.n_clusters", "clusters G"),
    ("primary.basis", "primary results: basis (fewer than min_repo_clusters repositories: stratified)"),
    ("primary.cox", "primary Cox model (results.json prefix)"),
    ("primary.hr", "**primary**: HR agent vs human (the model named above; adjusted for file type, commit size)"),
    ("primary.ci_low", "**primary**: CI low (cluster-robust, t(G-1))"),
    ("primary.ci_high", "**primary**: CI high"),
    ("primary.p_value", "**primary**: p"),
    ("primary.logrank_p_value", "**primary**: log-rank p (stratified by repository when the basis says so; clustered)"),
    ("cox.stratified_hr", "HR within repositories, unadjusted (strata = repo)"),
    ("cox.stratified_ci_low", "CI low, unadjusted, strata = repo"),
    ("cox.stratified_ci_high", "CI high, unadjusted, strata = repo"),
    ("cox.stratified_p_value", "p, unadjusted, strata = repo"),
    ("cox.unadjusted_hr", "descriptive: HR agent vs human, unadjusted, pooled over repositories"),
    ("cox.unadjusted_model_based_ci_low", "before: CI low, model-based SE"),
    ("cox.unadjusted_model_based_ci_high", "before: CI high, model-based SE"),
    ("cox.unadjusted_model_based_p_value", "before: p, model-based SE"),
    ("cox.unadjusted_ci_low", "after: CI low, cluster-robust CR1, t(G-1) (pooled, descriptive)"),
    ("cox.unadjusted_ci_high", "after: CI high, cluster-robust CR1, t(G-1)"),
    ("cox.unadjusted_p_value", "after: p, cluster-robust CR1, t(G-1) (pooled, descriptive)"),
    ("cox.adjusted_hr", "descriptive: HR adjusted (file type, commit size), pooled"),
    ("cox.adjusted_ci_low", "CI low, adjusted"),
    ("cox.adjusted_ci_high", "CI high, adjusted"),
    ("cox.adjusted_p_value", "p, adjusted"),
    ("cox.unadjusted_ph_p_value", "Schoenfeld test of proportional hazards, unadjusted model (all units)"),
    ("logrank.author_unclustered_p_value", "before: log-rank p, lines independent"),
    ("logrank.author_p_value", "after: clustered log-rank p, pooled (descriptive with few repositories; with at "
     "most 50 clusters the wild cluster bootstrap)"),
    ("logrank.author_p_value_f_reference", "before (at most 50 clusters): the same test with the F(1, G-1) reference"),
    ("modified_share.agent", "share of agent lines modified by the horizon"),
    ("modified_share.human", "share of human lines modified by the horizon"),
    ("modified_share.diff_pp", "modified-share difference (pp)"),
    ("modified_share.diff_pp_ci_low_unclustered", "before: CI low, Newcombe over lines"),
    ("modified_share.diff_pp_ci_high_unclustered", "before: CI high, Newcombe over lines"),
    ("modified_share.diff_pp_ci_low", "after: CI low, cluster bootstrap (CV3 jackknife, t(G-1), with at most 50 "
     "clusters)"),
    ("modified_share.diff_pp_ci_high", "after: CI high, cluster bootstrap (or the jackknife, as above)"),
    ("modified_share.diff_pp_ci_low_percentile", "before (at most 50 clusters): CI low, percentile cluster bootstrap"),
    ("modified_share.diff_pp_ci_high_percentile", "before (at most 50 clusters): CI high, percentile cluster bootstrap"),
    ("intent.n_lines", "ended lines"),
    ("intent.n", "(author type, ending commit) observations"),
    ("intent.line_chi2", "before: chi-square over lines"),
    ("intent.line_p_value", "before: p over lines"),
    ("intent.corrective_share_agent", "corrective share of the changes that ended agent lines"),
    ("intent.corrective_share_human", "corrective share of the changes that ended human lines"),
    ("intent.chi2", "after: chi-square over ending commits"),
    ("intent.p_value", "after: p over ending commits"),
    ("prediction.full_auc_roc", "AUC, text + process features"),
    ("prediction.full_auc_ci_low_units", "before: CI low, bootstrap over lines"),
    ("prediction.full_auc_ci_high_units", "before: CI high, bootstrap over lines"),
    ("prediction.full_auc_ci_low", "after: CI low, cluster bootstrap"),
    ("prediction.full_auc_ci_high", "after: CI high, cluster bootstrap"),
    ("prediction.text_auc_roc", "AUC, text only"),
    ("prediction.text_auc_ci_low", "CI low, text only"),
    ("prediction.text_auc_ci_high", "CI high, text only"),
    ("recovery.planted_hr", "recovery: planted HR (embedded simulated table)"),
    ("recovery.estimated_hr", "recovery: estimated HR, strata = repo, adjusted"),
    ("recovery.ci_low", "recovery: CI low"),
    ("recovery.ci_high", "recovery: CI high"),
)
PROFILES = ("default", "workshop", "agent_repos", "agent_repos_all")
MARK = "<!-- generated:{name} (studykit.studies.code_survival.docnumbers; do not edit by hand) -->"
END = "<!-- end generated:{name} -->"


def fmt(value: Any) -> str:
    """A value as the doc shows it: 4 significant digits, integers and strings as they are, None as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4g}"
    return str(value)


def numbers_block(results: Mapping[str, Mapping[str, Any]], shown: Mapping[str, Mapping[str, str]] | None = None
                  ) -> str:
    """The markdown table of :data:`KEYS` for each profile's results (a mapping profile -> results.json);
    ``shown`` (profile -> key -> text, :func:`parse_numbers`) supplies the columns of profiles not in ``results``."""
    shown = shown or {}
    names = [p for p in PROFILES if p in results or p in shown]

    def cell(p: str, key: str) -> str:
        return fmt(results[p].get(key)) if p in results else shown[p].get(key, "n/a")

    lines = ["| results.json key | what | " + " | ".join(f"`{p}`" for p in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for key, what in KEYS:
        lines.append(f"| `{key}` | {what} | " + " | ".join(cell(p, key) for p in names) + " |")
    return "\n".join(lines)


def params_block() -> str:
    """Every parameter of :class:`.schema.Params` with its type, default and constraints, from the schema."""
    from studykit.studies.code_survival.schema import Params

    ops = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
    lines = ["| parameter | default | range | description |", "|---|---|---|---|"]
    for name, f in Params.model_fields.items():
        cons = ", ".join(f"{sym} {getattr(m, attr)}" for m in f.metadata for attr, sym in ops if hasattr(m, attr))
        default = f.get_default(call_default_factory=True)
        lines.append(f"| `{name}` | `{json.dumps(default)}` | {cons} | {f.description or ''} |")
    return "\n".join(lines)


def block(text: str, name: str) -> str:
    """The generated block ``name`` of a doc (without its markers)."""
    m = re.search(re.escape(MARK.format(name=name)) + r"\n(.*?)" + re.escape(END.format(name=name)), text, re.S)
    if m is None:
        raise ValueError(f"no generated block '{name}' in the doc")
    return m.group(1).rstrip("\n")


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with block ``name`` replaced by ``body``."""
    start, end = MARK.format(name=name) + "\n", END.format(name=name)
    i = text.index(start) + len(start)
    return text[:i] + body.rstrip("\n") + "\n" + text[text.index(end, i):]


def parse_numbers(text: str) -> dict[str, dict[str, str]]:
    """The numbers block read back: profile -> key -> shown value."""
    rows = block(text, "numbers").splitlines()
    profiles = [c.strip().strip("`") for c in rows[0].strip("|").split("|")[2:]]
    out: dict[str, dict[str, str]] = {p: {} for p in profiles}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for p, v in zip(profiles, cells[2:]):
            out[p][cells[0].strip("`")] = v
    return out


def main(argv: list[str]) -> None:
    from studykit.paths import project_root

    doc = project_root() / "docs" / "studies" / "code_survival.md"
    results = {}
    for arg in argv:
        profile, path = arg.split("=", 1)
        results[profile] = json.loads(Path(path).read_text(encoding="utf-8"))
    text = doc.read_text(encoding="utf-8")
    if results:
        text = replace_block(text, "numbers", numbers_block(results, parse_numbers(text)))
    text = replace_block(text, "params", params_block())
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
