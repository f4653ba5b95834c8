"""Parameters of the code-survival study and the line-events schema."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from studykit.contract.params import InputPath, StudyParams

NAME = "code_survival"

#: Columns a line-events table must have for the analysis (the miner writes more).
REQUIRED_COLUMNS = ("unit_id", "repo", "path", "commit", "author_type", "agent", "born_at", "ended_at", "event",
                    "end_intent", "text")
#: Optional columns used when present (process features of the born commit).
OPTIONAL_COLUMNS = ("file_ext", "commit_lines_added", "commit_lines_deleted", "commit_files", "observed_until",
                    "duration_days", "line_no", "is_bot")


class Params(StudyParams):
    """Parameters of ``notebooks/code_survival.ipynb``.

    Input: ``line_events_path`` (a table from ``studykit mine`` or any table
    with :data:`REQUIRED_COLUMNS`) or ``repos`` (git repositories mined in the
    notebook). With neither, ``simulate`` decides what :meth:`prepare`
    generates into the cache: ``repos`` (small real git repositories mined by
    the real miner; the default) or ``line_events`` (a simulated table with a
    known hazard ratio; ``paper_scale``).
    """

    study = NAME

    repos: list[str] = InputPath([], kind="repo", description="git repositories to mine")
    bundles: list[str] = InputPath([], kind="file", suffixes=[".bundle"],
                                   description="git bundles, cloned once into .cache/ and mined with `repos`")
    line_events_path: str | None = InputPath(None, kind="file", columns=REQUIRED_COLUMNS,
                                             description="a mined line-events table")
    simulate: Literal["repos", "line_events"] = Field(
        "repos", description="without an input: 'repos' builds small git repositories and mines them, "
        "'line_events' simulates a line-events table with a known hazard ratio (paper_scale)")
    sim_repos: int = Field(4, ge=1, le=50, description="simulate=repos: number of git repositories built")
    sim_commits: int = Field(150, ge=10, le=20000, description="simulate=repos: commits per repository")
    sim_line_repos: int = Field(200, ge=2, le=2000, description="simulate=line_events: repositories simulated")
    sim_units_per_repo: int = Field(1100, ge=20, le=100000,
                                    description="simulate=line_events: line units per repository")
    sim_hr_agent: float = Field(0.842, gt=0, description="simulate=line_events: the planted hazard ratio of "
                                "agent vs human lines (0.842 as in the paper)")
    observation_end: str | None = Field(
        None, description="mining: censor at this ISO date or datetime (default: each repository's last commit); "
        "not after the run, not before 1980")
    exclude_globs: list[str] | None = Field(
        None, description="mining: paths to leave out (glob patterns, e.g. 'vendor/**'); default: vendored, "
        "generated and lock files; [] excludes nothing")
    agent_rules: list[dict[str, Any]] | str | None = Field(
        None, description="mining: who is an agent, an ordered list of rules {agent, field, pattern, repos} (first "
        "match wins; field author, committer, trailer or message; pattern a case-insensitive regex; optional repos: "
        "the repository names the rule applies to) or the path of a YAML/JSON rules file holding that list "
        "(`studykit mine --agent-rules FILE` reads the same file); the list replaces the defaults; default: the "
        "rules of studykit.studies.code_survival.rules.DEFAULT_AGENT_RULES")
    mine_jobs: int = Field(1, ge=1, le=64, description="mining: repositories mined at a time in local processes "
                           "(the table is identical for any value)")
    horizon_days: float = Field(90.0, gt=0, description="modified-share and prediction horizon: was a line "
                                "modified within this many days? (lines followed less long are not eligible)")
    timing_bins_days: list[float] = Field(default_factory=lambda: [7.0, 30.0],
                                          description="prediction: bin edges (days) of when a modified line ended")
    km_times_days: list[float] = Field(default_factory=lambda: [7.0, 30.0, 90.0, 180.0, 365.0],
                                       description="days at which the Kaplan-Meier table reports survival")
    adjust: Literal["cluster", "strata"] = Field(
        "cluster", description="adjusted Cox model: 'cluster' adds file type and commit size as covariates; "
        "'strata' adds them and a baseline hazard per repository")
    min_agent_units: int = Field(30, ge=1, description="per-agent HRs: agents with fewer line units are pooled "
                                 "as 'other agents'")
    min_agent_events: int = Field(10, ge=1, description="per-agent HRs need this many modified lines")
    min_repo_clusters: int = Field(10, ge=2, description="cluster by repository from this many repositories; below, "
                                   "the primary Cox model and log-rank test are stratified by repository")
    ph_alpha: float = Field(0.05, gt=0, lt=1, description="level of the proportional-hazards (Schoenfeld) test "
                            "below which the time-window HRs are the reading to use")
    ph_split_days: list[float] = Field(default_factory=lambda: [30.0, 180.0],
                                       description="time-window HRs: window edges in days")
    cv_folds: int = Field(5, ge=2, le=20, description="prediction: cross-validation folds, grouped by repository")
    tfidf_max_features: int = Field(5000, ge=10, description="prediction: vocabulary size of the TF-IDF text "
                                    "features")
    prediction_max_units: int = Field(60000, ge=100, description="prediction: at most this many eligible units, "
                                      "sampled with seed")
    n_bootstrap: int = Field(1000, ge=100, description="bootstrap resamples of the share difference and AUC "
                             "intervals")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence level of every interval")
    recovery_path: str | None = InputPath("data/code_survival/line_events_sim.csv", kind="file", optional=True,
                                          description="simulated line events with a known hazard ratio")
    recovery_truth_path: str | None = InputPath("data/code_survival/truth.json", kind="file", optional=True,
                                                description="truth of the simulated line events")
    seed: int = Field(20260, description="seed of the simulators, the bootstrap and the prediction sample")

    @field_validator("timing_bins_days", "km_times_days", "ph_split_days")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(x <= 0 for x in v) or list(v) != sorted(set(v)):
            raise ValueError("must be strictly increasing positive numbers of days")
        return v

    @field_validator("agent_rules", mode="before")
    @classmethod
    def _rules(cls, v: Any) -> Any:
        """Rules are checked now (one line naming agent_rules[i] and the key); a file is read with safe loaders."""
        from studykit.contract.errors import ParamError
        from studykit.studies.code_survival.rules import load_agent_rules

        if v is not None and not (isinstance(v, str) and not v.strip()):
            try:
                load_agent_rules(v)
            except ParamError as exc:
                raise ValueError(str(exc)) from None
        return v or None

    @field_validator("observation_end", mode="before")
    @classmethod
    def _date_to_text(cls, v: Any) -> Any:
        """YAML reads ``2025-12-31`` (``--set observation_end=2025-12-31``) as a date: keep it as ISO text."""
        import datetime as dt

        return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v

    @field_validator("observation_end")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        if v is not None and str(v).strip():
            import pandas as pd

            try:
                ts = pd.Timestamp(str(v))
            except (ValueError, TypeError, OverflowError):
                ts = pd.NaT
            if ts is pd.NaT:
                raise ValueError("must be an ISO 8601 date or datetime, e.g. 2025-12-31 or 2025-12-31T23:59:59Z")
            from studykit.contract.errors import ParamError
            from studykit.studies.code_survival.minetable import parse_observation_end

            try:  # not after the time of the run, not before 1980 (lines cannot be followed into the future)
                parse_observation_end(str(v), what="date")
            except ParamError as exc:
                raise ValueError(str(exc)) from None
        return v

    def prepare(self) -> "Params":
        """Read a rules file into ``agent_rules`` (so that the run's parameters, and its cache key, hold the rules
        themselves); clone ``bundles`` into the cache and mine them with ``repos``; generate the cached simulated
        input when neither ``repos``, ``bundles`` nor ``line_events_path`` is given."""
        if isinstance(self.agent_rules, str):
            from dataclasses import asdict

            from studykit.studies.code_survival.rules import load_agent_rules

            rules = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(r).items()
                      if k != "repos" or v} for r in load_agent_rules(self.agent_rules)]
            return self.model_copy(update={"agent_rules": rules}).prepare()
        if self.bundles:
            from studykit.files.paths import resolve
            from studykit.studies.code_survival.bundles import clone_bundles

            clones = [str(p) for p in clone_bundles([resolve(b) for b in self.bundles], jobs=self.mine_jobs)]
            return self.model_copy(update={"repos": list(self.repos) + clones, "bundles": []}).prepare()
        if self.agent_rules and any(r.get("repos") for r in self.agent_rules) and self.repos \
                and not self.line_events_path:
            from studykit.files.paths import resolve
            from studykit.studies.code_survival.parallel import repository_names
            from studykit.studies.code_survival.rules import check_rule_repos, load_agent_rules

            # repos of the rules name repositories of this run: folder names (a bundle's clone: its name)
            names = repository_names([str(resolve(r)) for r in self.repos])
            check_rule_repos(load_agent_rules(self.agent_rules), names)
        if self.line_events_path or self.repos:
            return self
        from studykit.runs.simcache import ensure_generated
        from studykit.studies.code_survival.simversions import REPO_SIM_VERSION, SIM_VERSION

        def sim():  # the simulator (numpy, pandas) only when an input is generated, not when it is cached
            from studykit.studies.code_survival import simulate

            return simulate

        if self.simulate == "repos":
            args = {"n_repos": self.sim_repos, "n_commits": self.sim_commits, "seed": self.seed}
            folder = ensure_generated(NAME, "repos", REPO_SIM_VERSION, args, lambda d: sim().write_repos(d, **args))
            return self.model_copy(update={"repos": [str(folder / f"repo_{i + 1:02d}")
                                                     for i in range(self.sim_repos)]})
        args: dict[str, Any] = {"n_repos": self.sim_line_repos, "units_per_repo": self.sim_units_per_repo,
                                "seed": self.seed, "hr_agent": self.sim_hr_agent}
        folder = ensure_generated(NAME, "line_events", SIM_VERSION, args,
                                  lambda d: sim().write_paper_scale(d, **args))
        return self.model_copy(update={"line_events_path": str(folder / "line_events.parquet")})

