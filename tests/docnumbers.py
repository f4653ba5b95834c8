"""One mechanism for every number and parameter a study doc quotes: it cannot go stale.

Unit: one marked block of a study doc (``docs/studies/<study>*.md``) against what it quotes: the study's
``Params`` schema, a profile's ``results.json`` values, or a rendering of a run folder.

A study doc marks what is generated or checked with HTML comments, one grammar for all studies::

    <!-- parameters:start --> ... <!-- parameters:end -->
        the study's parameter table, exactly :func:`parameter_table` of its ``Params``;
    <!-- results:<profile>:start --> ... <!-- results:<profile>:end -->
        prose quoting values as ``\\`key\\` = value``: each equals ``results.json[key]`` of ``<profile>`` to the
        digits shown (half a unit of the last digit quoted; ``,`` groups thousands; ``%`` scales by 100
        unless the key holds a percentage already: ``_pct``, ``_pp``);
    <!-- results:start --> ... <!-- results:end -->
        tables with a ``key`` column (``key`` or ``results.json key``) and one column per profile, each cell
        checked as above (``n/a`` for None or a result the profile does not have, ``null`` for None, ``yes``/``no`` or ``True``/``False`` for booleans,
        ``-`` or an empty cell for "not quoted");
    <!-- generated:<name>:start --> ... <!-- generated:<name>:end -->
        text rendered from a run folder (tables and results) by ``BLOCKS[name]`` of the study's
        ``tests/studies/<study>/docblocks.py`` (compared with runs of white space made one space, so a
        block may sit inside a paragraph).

Where the values come from: ``results`` quotes of a profile with a shipped reference
(``reference/<study>/<profile>.json``, written from a real run and compared with fresh runs by
``studykit check``) are checked against that reference without running anything; the session's run of
``default`` and ``workshop`` is checked against the reference by :mod:`tests.frame.test_docnumbers`. A
profile without a reference (``paper_scale``) is run, in the slow set. ``generated`` blocks render a run of
their profile (``docblocks.run_folder`` may point a profile at its real data and skip when absent).

Regenerate after a change (rewrites parameter tables, every quote of the named profiles keeping the digits
each quote shows, and the generated blocks of the named run folders)::

    python tests/docnumbers.py STUDY [PROFILE=RUN_FOLDER ...]
"""
from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"<!-- (parameters|results(?::[\w.-]+)?|generated:[\w.-]+):start -->(.*?)<!-- \1:end -->", re.S)
QUOTE = re.compile(r"`([A-Za-z0-9_.\-]+)` = (-?[0-9][0-9,]*(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?%?)")
_KEY_HEADERS = ("key", "results.json key")


def docs(study: str) -> list[Path]:
    """The study's docs: ``docs/studies/<study>.md`` and ``docs/studies/<study>_*.md``."""
    folder = ROOT / "docs" / "studies"
    return sorted([folder / f"{study}.md", *folder.glob(f"{study}_*.md")])


def blocks(text: str) -> Iterator[tuple[str, str]]:
    """(marker name, body) of every marked block of a doc, in order."""
    for m in _BLOCK.finditer(text):
        yield m.group(1), m.group(2)


# ---- parameters ---------------------------------------------------------------------------------------------
def _range(field) -> str:
    ops = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "length >="))
    return ", ".join(f"{sym} {getattr(m, attr)}" for m in field.metadata for attr, sym in ops
                     if getattr(m, attr, None) is not None)


def parameter_table(params_cls) -> str:
    """The markdown table of every field of a study's ``Params``: name, default (JSON), range, description."""
    rows = ["| parameter | default | range | description |", "|---|---|---|---|"]
    for name, field in params_cls.model_fields.items():
        default = json.dumps(field.get_default(call_default_factory=True), ensure_ascii=False)
        desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}` | `{default}` | {_range(field)} | {desc} |")
    return "\n".join(rows)


# ---- quoted values ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """One value a doc quotes: where, for which profile and key, and the text shown."""

    doc: str
    profile: str
    key: str
    shown: str


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _table_rows(body: str) -> Iterator[tuple[int, list[str], list[str], int | None]]:
    """(line index, header, cells as written, index of the key column or None) of every data row of the tables
    in a results block (a table starts at the first ``|`` line after a non-table line)."""
    header = None
    for i, line in enumerate(body.split("\n")):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.strip("`") for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        yield i, header, cells, next((j for j, h in enumerate(header) if h in _KEY_HEADERS), None)


def _table_quotes(doc: str, body: str, profiles: set[str]) -> list[Quote]:
    found = []
    for _, header, cells, key_col in _table_rows(body):
        if key_col is None:
            raise ValueError(f"{doc}: a table in a results block has no 'key' column: {header}")
        shown = [c.strip("`") for c in cells]
        found += [Quote(doc, h, shown[key_col], v) for h, v in zip(header, shown)
                  if h in profiles and v not in ("", "-")]
    return found


def quotes(study: str, profiles: set[str]) -> list[Quote]:
    """Every value quoted in the study's results blocks (``profiles``: the study's profile names)."""
    found = []
    for path in docs(study):
        for name, body in blocks(path.read_text(encoding="utf-8")):
            if name == "results":
                found += _table_quotes(path.name, body, profiles)
            elif name.startswith("results:"):
                found += [Quote(path.name, name.split(":", 1)[1], k, v) for k, v in QUOTE.findall(body)]
    return found


def in_percent(key: str) -> bool:
    """Whether a results key already holds a percentage (its quote's ``%`` is a unit, not a scale)."""
    return key.endswith(("_pct", "_pp")) or "_pct_" in key or "_pp_" in key or "percent" in key


def matches(actual: Any, shown: str, key: str = "") -> bool:
    """``actual`` (a results.json value) reads as ``shown`` to the digits shown."""
    if isinstance(actual, str):
        return actual == shown.strip()
    text = shown.replace(",", "").strip()
    if text in ("n/a", "null", "None"):
        return actual is None
    if isinstance(actual, bool) or text in ("yes", "no", "True", "False", "true", "false"):
        return isinstance(actual, bool) and text in (("yes", "True", "true") if actual else ("no", "False", "false"))
    if actual is None:
        return False
    scale = 100.0 if text.endswith("%") and not in_percent(key) else 1.0
    text = text.rstrip("%")
    try:
        value = float(text)
    except ValueError:
        return False
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    tolerance = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return math.isfinite(actual) and abs(actual * scale - value) <= tolerance * (1 + 1e-9) + 1e-12


def restate(actual: Any, shown: str, key: str = "") -> str:
    """``actual`` written the way ``shown`` is (same decimals or significant digits, %, separators)."""
    if actual is None:
        return "n/a" if shown == "n/a" else "null"
    if isinstance(actual, bool):
        words = ("yes", "no") if shown in ("yes", "no") else ("true", "false") if shown in ("true", "false") \
            else ("True", "False")
        return words[0] if actual else words[1]
    if isinstance(actual, str):
        return actual
    text, pct = shown.replace(",", ""), shown.endswith("%")
    mantissa, e, _ = text.rstrip("%").lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if e:
        return f"{actual:.{decimals}e}".replace("e-0", "e-").replace("e+0", "e")
    out = f"{actual * (100 if pct and not in_percent(key) else 1):{',' if ',' in shown else ''}.{decimals}f}"
    return out + ("%" if pct else "")


def reference_results(study: str, profile: str) -> dict[str, Any] | None:
    """The shipped reference values of a profile (``reference/<study>/<profile>.json``), or None."""
    path = ROOT / "reference" / study / f"{profile}.json"
    return json.loads(path.read_text(encoding="utf-8"))["results"] if path.is_file() else None


def wrong_quotes(found: list[Quote], results: Mapping[str, Any]) -> list[str]:
    """One line per quote that does not read as the value in ``results``."""
    def ok(q: Quote) -> bool:
        if q.key not in results:
            return q.shown == "n/a"  # "not applicable": the profile has no such result
        return matches(results[q.key], q.shown, q.key)

    return [f"{q.doc}: `{q.key}` shows {q.shown} for {q.profile}, results.json has "
            f"{results[q.key] if q.key in results else 'no such key'}" for q in found if not ok(q)]


# ---- generated blocks ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """A generated block: the profile whose run it renders and the renderer (run folder -> text)."""

    profile: str
    render: Callable[[Path], str]


def real_data_run(study: str, profile: str, data: Path, overrides: Mapping[str, Any]) -> Callable:
    """A docblocks ``run_folder`` for a study whose generated blocks also render ``profile``, which reads the
    real data at ``data`` (under ``../shared``): that profile runs with ``overrides`` and its blocks are skipped
    when the data are absent; every other profile is the session's shared run."""
    def run_folder(study_run, wanted: str) -> Path:
        if wanted != profile:
            return study_run(study, wanted).out_dir
        if not data.exists():
            import pytest

            pytest.skip(f"the {profile} data are not at {data} (../shared absent)")
        return study_run(study, profile, overrides=dict(overrides)).out_dir

    return run_folder


def study_blocks(study: str):
    """The study's ``tests/studies/<study>/docblocks.py`` module (``BLOCKS``, optional ``run_folder``), or None."""
    path = ROOT / "tests" / "studies" / study / "docblocks.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"docblocks_{study}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(study: str) -> dict[str, str]:
    """name -> body of every generated block in the study's docs."""
    out = {}
    for path in docs(study):
        for name, body in blocks(path.read_text(encoding="utf-8")):
            if name.startswith("generated:"):
                out[name.split(":", 1)[1]] = body
    return out


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


# ---- regeneration -------------------------------------------------------------------------------------------
def rewrite(study: str, runs: Mapping[str, Path]) -> None:
    """Rewrite the study's docs: parameter tables, quotes of the profiles in ``runs`` (profile -> run folder),
    and the generated blocks whose profile is in ``runs``."""
    sys.path.insert(0, str(ROOT / "lib"))
    from studykit.contract import registry
    params_cls = registry.get(study).params
    module = study_blocks(study)
    from studykit.runs.resultsfile import read_results

    results = {p: read_results(f) for p, f in runs.items()}

    def requote(text: str, profile: str) -> str:
        res = results[profile]
        return QUOTE.sub(lambda m: f"`{m.group(1)}` = {restate(res[m.group(1)], m.group(2), m.group(1))}"
                         if m.group(1) in res else m.group(0), text)

    def new_body(name: str, body: str) -> str:
        if name == "parameters":
            return parameter_table(params_cls)
        if name.startswith("results:") and name.split(":", 1)[1] in results:
            return requote(body, name.split(":", 1)[1])
        if name == "results":
            return _rewrite_tables(body, results)
        block = module.BLOCKS.get(name.split(":", 1)[1]) if module is not None and name.startswith("generated:") \
            else None
        return block.render(Path(runs[block.profile])) if block is not None and block.profile in runs else body

    def sub(m: re.Match) -> str:
        name, body = m.group(1), m.group(2)
        new = new_body(name, body)
        if new == body:
            return m.group(0)
        inner = f"\n{new.strip()}\n" if body.startswith("\n") else new.strip()
        return f"<!-- {name}:start -->{inner}<!-- {name}:end -->"

    for path in docs(study):
        text = path.read_text(encoding="utf-8")
        path.write_text(_BLOCK.sub(sub, text), encoding="utf-8")


def _rewrite_tables(body: str, results: Mapping[str, Mapping[str, Any]]) -> str:
    lines = body.split("\n")
    for i, header, cells, key_col in _table_rows(body):
        if key_col is None:
            continue
        key, before = cells[key_col].strip("`"), list(cells)
        for j, h in enumerate(header):
            if h in results and key in results[h] and cells[j] not in ("", "-"):
                cells[j] = restate(results[h][key], cells[j], key)
        if cells != before:
            lines[i] = "| " + " | ".join(cells) + " |"
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    rewrite(sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:]))
