"""Agent rules as a parameter: the rules file of the twelve shared repositories, rule lists, per-repository rules,
their one-line errors, ``studykit mine --agent-rules`` and the per-repository agent tables.

Unit: a commit of a repository the test builds (one line added per commit, so each commit's label is the label of
its line unit in the mined table); for the tables, a line unit.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit import cli
from studykit.contract.errors import ParamError
from studykit.contract.profiles import resolve_params
from studykit.studies.code_survival import byrepo, saves
from studykit.studies.code_survival.parallel import mine_many
from studykit.studies.code_survival.rules import AgentClassifier, load_agent_rules

sys.path.insert(0, str(Path(__file__).parent))
from cs_gitutil import Repo  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
TWELVE = ROOT / "params" / "code_survival" / "agent_rules/twelve_repos.yaml"
HUMAN = ("Hana Human", "hana@example.org")

# (label, author, message, agent with the twelve-repository rules, agent with the defaults); "" = human.
# Each row is one rule of the file or one wrong default it fixes (../shared/data/code_survival/README.md).
CASES = {
    "openhands": [
        ("employee", ("Xingyao Wang", "xingyao@all-hands.dev"), "Refactor runtime", "", "openhands"),
        ("agent_author", ("openhands", "openhands@all-hands.dev"), "Fix issue #1: typo", "openhands", "openhands"),
        ("agent_old_name", ("OpenHands", "opendevin@all-hands.dev"), "Fix issue #2", "openhands", "openhands"),
        ("agent_coauthor", HUMAN, "Add tests\n\nCo-authored-by: openhands <openhands@all-hands.dev>",
         "openhands", "openhands"),
        ("model_variant", HUMAN, "Add docs\n\nCo-authored-by: OpenHands-Claude <openhands@all-hands.dev>",
         "openhands", "claude"),
        ("handle", ("aivong-openhands", "ai.vong@openhands.dev"), "ci: bump", "", "openhands"),
        ("review_suggestion", HUMAN, "Order labels\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply"
         ".github.com>", "", "copilot"),
        ("autofix", ("Copilot Autofix powered by AI", "175728472+Copilot@users.noreply.github.com"),
         "Potential fix for code scanning alert", "", "copilot"),
        ("copilot_agent", ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
         "Bump Node", "copilot", "copilot"),
        ("copilot_cli", HUMAN, "fix(issues): schema\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply"
         ".github.com>", "copilot", "copilot"),
        ("release_bot", HUMAN, "chore(release): v1.2\n\nCo-authored-by: gemini-cli-robot <gemini-cli-robot@google"
         ".com>", "", "gemini"),
        ("gemini", HUMAN, "Add parser\n\nCo-authored-by: Gemini <gemini@google.com>", "gemini", "gemini"),
        ("aider_model", ("aider (gemini/gemini-2.5-pro)", "aider@aider.chat"), "feat: add flag", "aider", ""),
        ("claude", HUMAN, "Add cache\n\nCo-authored-by: Claude <noreply@anthropic.com>", "claude", "claude"),
        ("person", HUMAN, "Plain change", "", ""),
    ],
    "roo-code": [
        ("roomote", ("roomote[bot]", "219738659+roomote[bot]@users.noreply.github.com"), "fix: x", "roo_code", ""),
        ("roo_coauthor", HUMAN, "feat: y\n\nCo-authored-by: Roo Code <roomote@roocode.com>", "roo_code", ""),
        ("ellipsis", HUMAN, "feat: z\n\nCo-authored-by: ellipsis-dev[bot] <65095814+ellipsis-dev[bot]@users"
         ".noreply.github.com>", "", ""),
        ("roo_person", ("Eric Wheeler", "roo-code@z.ewheeler.org"), "Refactor terminal", "", ""),
    ],
    "workers-oauth-provider": [
        ("ask_claude", ("Kenton Varda", "kenton@example.org"), "Ask Claude to implement a token exchange callback.",
         "claude", ""),
        ("ask_in_body", ("Kenton Varda", "kenton@example.org"), "Fix refresh\n\nAsk Claude to review it next.",
         "", ""),
    ],
    # the per-repository rules do not reach other repositories
    "elsewhere": [
        ("roomote_elsewhere", ("roomote[bot]", "219738659+roomote[bot]@users.noreply.github.com"), "fix", "", ""),
        ("ask_elsewhere", ("Kenton Varda", "kenton@example.org"), "Ask Claude to add a flag", "", ""),
    ],
}


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    root = tmp_path_factory.mktemp("rules")
    out = {}
    for name, cases in CASES.items():
        r = Repo(root / name)
        for i, (label, author, msg, _, _) in enumerate(cases):
            r.lines(f"src/{label}.py", f"value_{label} = {i}")
            r.commit(label, msg, day=i, author=author)
        out[name] = r
    return out


def _labels(df: pd.DataFrame, repo: Repo) -> dict[str, str]:
    by_commit = dict(zip(df["commit"], df["agent"]))
    return {label: by_commit[sha] for label, sha in repo.shas.items()}


def test_the_twelve_rules_fix_the_wrong_defaults_on_built_commits(repos):
    paths = [str(r.path) for r in repos.values()]
    fixed = mine_many(paths, agent_rules=load_agent_rules(TWELVE))
    default = mine_many(paths)
    for name, r in repos.items():
        got_fixed = _labels(fixed[fixed["repo"] == name], r)
        got_default = _labels(default[default["repo"] == name], r)
        for label, _, _, want, want_default in CASES[name]:
            assert got_fixed[label] == want, (name, label, got_fixed[label])
            assert got_default[label] == want_default, (name, label, got_default[label])
    # the miner's report counts marked commits per repository and agent
    report = {r["repo"]: r for r in fixed.attrs["mining_report"]}
    assert report["roo-code"]["agent_commits_by_agent"] == {"roo_code": 2}
    assert sum(report["openhands"]["agent_commits_by_agent"].values()) == sum(1 for c in CASES["openhands"] if c[3])


def test_rules_in_processes_equal_rules_serially(repos):
    paths = [str(r.path) for r in repos.values()]
    rules = load_agent_rules(TWELVE)
    a, b = mine_many(paths, agent_rules=rules), mine_many(paths, agent_rules=rules, jobs=2)
    assert a.equals(b)


def test_rule_list_json_and_yaml_give_the_same_rules(tmp_path):
    rules = [{"agent": "bob", "field": "author", "pattern": "^bob\\b", "repos": ["x"]}]
    (tmp_path / "r.json").write_text(json.dumps(rules))
    (tmp_path / "r.yaml").write_text("- {agent: bob, field: author, pattern: '^bob\\b', repos: [x]}\n")
    assert load_agent_rules(rules) == load_agent_rules(str(tmp_path / "r.json")) == \
        load_agent_rules(str(tmp_path / "r.yaml"))
    c = AgentClassifier(load_agent_rules(rules))
    assert c.for_repo("x").classify("bob <b@x>", "", "m") == ("bob", "author")
    assert c.for_repo("y").classify("bob <b@x>", "", "m") == ("", "")


@pytest.mark.parametrize("rules, needle", [
    ([{"agent": "a", "field": "author", "pattern": "x", "colour": "red"}], "agent_rules[0]: unknown key 'colour'"),
    ([{"agent": "a", "field": "author", "pattern": "("}], "agent_rules[0]: pattern is not a valid regex"),
    ([{"agent": "a", "field": "body", "pattern": "x"}], "agent_rules[0]: field must be one of"),
    ([{"agent": "human", "field": "author", "pattern": "x"}], "agent_rules[0]: agent must be"),
    ([{"agent": "a", "field": "author", "pattern": "x", "repos": [3]}], "agent_rules[0]: repos must be"),
    ({"agent": "a"}, "parameter 'agent_rules'"),
])
def test_bad_rules_are_one_line_naming_the_key(rules, needle):
    with pytest.raises(ParamError) as info:
        resolve_params("code_survival", overrides={"agent_rules": rules})
    msg = str(info.value)
    assert needle in msg and "\n" not in msg


def test_rules_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {agent: a, field: author, pattern: x\n")  # unclosed mapping
    notlist = tmp_path / "map.yaml"
    notlist.write_text("agent: a\n")
    code = tmp_path / "r.py"
    code.write_text("print('never run')\n")
    for path, needle in ((bad, "not valid YAML"), (notlist, "expected a list"), (code, "must end in .yaml"),
                         (tmp_path / "missing.yaml", "not found")):
        with pytest.raises(ParamError) as info:
            resolve_params("code_survival", overrides={"agent_rules": str(path)})
        assert needle in str(info.value) and "agent_rules" in str(info.value) and "\n" not in str(info.value)


def test_unknown_repository_in_a_rule_is_refused_before_mining(repos):
    rules = [{"agent": "a", "field": "author", "pattern": "x", "repos": ["no-such-repo"]}]
    with pytest.raises(ParamError) as info:
        resolve_params("code_survival", overrides={"repos": [str(repos["roo-code"].path)], "agent_rules": rules})
    assert "'no-such-repo'" in str(info.value) and "roo-code" in str(info.value)
    with pytest.raises(ParamError):
        mine_many([str(repos["roo-code"].path)], agent_rules=rules)


def test_rules_file_becomes_the_runs_rules(repos):
    p, _ = resolve_params("code_survival", overrides={"repos": [str(r.path) for r in repos.values()],
                                                       "agent_rules": str(TWELVE)})
    assert isinstance(p.agent_rules, list) and len(p.agent_rules) == len(load_agent_rules(TWELVE))
    assert p.agent_rules[3]["repos"] == ["workers-oauth-provider"]


def test_mine_cli_agent_rules(repos, tmp_path):
    paths = [str(r.path) for r in repos.values()]
    out = tmp_path / "m.csv"
    assert cli.main(["mine", *paths, "--out", str(out), "--no-progress", "--agent-rules", str(TWELVE)]) == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert _labels(df[df["repo"] == "roo-code"], repos["roo-code"])["roomote"] == "roo_code"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"agent": "a", "field": "author", "pattern": "["}]')
    code = cli.main(["mine", *paths, "--out", str(tmp_path / "n.csv"), "--agent-rules", str(bad)])
    assert code == 2 and not (tmp_path / "n.csv").exists()


def test_agent_tables_by_repository(repos):
    paths = [str(r.path) for r in repos.values()]
    df = mine_many(paths, agent_rules=load_agent_rules(TWELVE))
    from studykit.studies.code_survival.load import prepare_events

    events, _ = prepare_events(df, what="mined")
    table = byrepo.agents_by_repo(events, df.attrs["mining_report"])
    tot = table[table["agent"] == byrepo.ALL_AGENTS].set_index("repo")
    assert tot.loc["roo-code", "marked_commits"] == 2 and tot.loc["roo-code", "units"] == 2
    assert tot.loc["elsewhere", "units"] == 0 and tot.loc["workers-oauth-provider", "commits"] == 1
    oh = table[(table["repo"] == "openhands")].set_index("agent")
    assert oh.loc["copilot", "marked_commits"] == 2 and oh.loc["openhands", "units"] == 4
    rec = saves.Data(events, (), None, None, table, None).records(str)
    assert rec["data.agent_units.roo-code"] == 2 and rec["data.agent_marked_commits.elsewhere"] == 0
    # without a mining report (a table read from a file) the column is absent, not guessed
    assert "marked_commits" not in byrepo.agents_by_repo(events, []).columns


def test_hr_by_repo_says_why_a_repository_has_no_estimate():
    rows = []
    for repo, agent_share in (("both", 0.5), ("humans_only", 0.0)):
        for i in range(80):
            agent = i < 80 * agent_share
            rows.append({"repo": repo, "commit": f"{repo}{i // 4}", "author_type": "agent" if agent else "human",
                         "agent": "claude" if agent else "", "event": int(i % 3 != 0),
                         "duration_days": float(5 + (i * 7) % 50 + (10 if agent else 0)), "file_ext": ".py",
                         "commit_lines_added": 4, "commit_lines_deleted": 0})
    table = byrepo.hr_by_repo(pd.DataFrame(rows))
    both, none = table.set_index("repo").loc["both"], table.set_index("repo").loc["humans_only"]
    assert 0 < both.ci_low < both.hr < both.ci_high and both.hr < 1  # agent lines last longer here
    assert pd.isna(none.hr) and none.note == "not estimable: no agent lines"
    assert saves.ByRepo(table).records(str) == {"cox.hr_by_repo.both": float(both.hr),
                                               "cox.hr_by_repo.humans_only": None}
