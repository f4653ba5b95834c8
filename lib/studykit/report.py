"""The browsable report: ``outputs/site/index.html`` and one page per study run.

For every run folder ``outputs/<study>/<profile>/`` (a ``manifest.json`` with
a ``run`` section, written by :mod:`studykit.runner`) the report holds

- the executed notebook as HTML (nbconvert's ``lab`` template), made to work
  offline: no script or style is fetched from a CDN; formulas are turned into
  MathML (rendered natively by the browser) by ``latex2mathml``;
- the list of exhibits as replication packages give it: Table/Figure number,
  caption, the notebook cell that wrote it (linked into the notebook page) and
  its files (CSV, LaTeX, HTML; PNG, SVG);
- the figures and tables themselves, the recorded numbers (each with its
  cell), data problems found, parameters, inputs with their hashes, the
  environment, and the whole manifest.

Output files are copied into the site (``<study>/<profile>/files/``), so the
site is self-contained: it can be zipped, served or opened from disk, and every
link is relative. The site is built in a temporary folder and swapped into
place, like a run.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from studykit import paths
from studykit.fileio import write_text_atomic
from studykit.folders import SITE_MARKER, check_replaceable, replace_dir, temp_dir_beside

# ------------------------------------------------------------------------------------------
# Offline notebook HTML
# ------------------------------------------------------------------------------------------
_MATH_RE = re.compile(
    r"(?<!\\)\$\$(?P<block>.+?)(?<!\\)\$\$"       # $$ display $$
    r"|\\\[(?P<block2>.+?)\\\]"                   # \[ display \]
    r"|(?<![\\$])\$(?!\s)(?P<inline>[^$\n]+?)(?<![\s\\])\$(?!\d)"  # $inline$ (not "$5 and $6")
    r"|\\\((?P<inline2>.+?)\\\)",                 # \( inline \)
    re.S,
)
_CODE_RE = re.compile(r"(^|\n)(```|~~~).*?(\n\2[^\n]*(?=\n|$)|$)|`+[^`\n]*`+", re.S)


def latex_to_mathml(latex: str, display: bool) -> str:
    """MathML for a TeX formula; the escaped TeX in a ``<code>`` when it cannot be converted."""
    try:
        from latex2mathml.converter import convert

        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # unsupported macro: show the source rather than fail the report
        return f'<code class="tex">{html.escape(latex)}</code>'


def _protect_math(source: str, store: dict[str, str]) -> str:
    """Replace formulas outside code by placeholders (restored after markdown rendering)."""
    out, pos = [], 0
    for m in _CODE_RE.finditer(source):
        out.append(_replace_math(source[pos:m.start()], store))
        out.append(m.group(0))
        pos = m.end()
    out.append(_replace_math(source[pos:], store))
    return "".join(out)


def _replace_math(text: str, store: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        display = m.group("block") is not None or m.group("block2") is not None
        tex = next(g for g in (m.group("block"), m.group("block2"), m.group("inline"), m.group("inline2"))
                   if g is not None)
        token = f"STUDYKITMATH{len(store):05d}X"
        store[token] = latex_to_mathml(tex, display)
        return token

    return _MATH_RE.sub(sub, text)


_STRIP_PATTERNS = [
    re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?https?://[^>]*>\s*</script>", re.I | re.S),
    re.compile(r"<script[^>]*type=[\"']text/x-mathjax-config[\"'][^>]*>.*?</script>", re.I | re.S),
    re.compile(r"<script[^>]*type=[\"']module[\"'][^>]*>.*?</script>", re.I | re.S),
    re.compile(r"<link[^>]*\bhref\s*=\s*[\"']?https?://[^>]*>", re.I | re.S),
    re.compile(r"<!--[^<>]*?mathjax[^<>]*?-->\n?", re.I),
]


def offline_html(body: str) -> str:
    """Remove every external (CDN) script and stylesheet and the scripts that need them."""
    for pat in _STRIP_PATTERNS:
        body = pat.sub("", body)
    return body


def notebook_to_html(nb_path: Path, title: str | None = None) -> str:
    """Executed notebook -> self-contained HTML page (no network, formulas as MathML)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    store: dict[str, str] = {}
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            cell.source = _protect_math(cell.source, store)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_anchor_links = False
    resources = {"metadata": {"name": title or nb_path.stem}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    for token, mathml in store.items():
        body = body.replace(token, mathml)
    body = offline_html(body)
    return body


# ------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------
@dataclass
class Exhibit:
    kind: str  # table | figure
    name: str
    caption: str
    number: int
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{'Table' if self.kind == 'table' else 'Figure'} {self.number}"

    @property
    def cell(self) -> dict[str, Any]:
        return self.files[0] if self.files else {}


@dataclass
class Run:
    study: str
    profile: str
    folder: Path
    manifest: dict[str, Any]
    results: dict[str, Any]

    @property
    def slug(self) -> str:
        return f"{self.study}/{self.profile}"

    def exhibits(self) -> list[Exhibit]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for e in self.manifest.get("outputs", []):
            if e.get("kind") in ("table", "figure"):
                groups.setdefault((e["kind"], e["name"]), []).append(e)

        def order(item):
            (kind, name), files = item
            cell = files[0].get("execution_count")
            return (kind != "table", cell if cell is not None else 10**9, name)

        out, counters = [], {"table": 0, "figure": 0}
        for (kind, name), files in sorted(groups.items(), key=order):
            if kind == "table" and name == "data_issues":
                continue  # shown in its own section
            counters[kind] += 1
            ext_order = {"csv": 0, "png": 0, "svg": 1, "pdf": 2, "tex": 1, "html": 2, "parquet": 3}
            files = sorted(files, key=lambda f: ext_order.get(f["path"].rsplit(".", 1)[-1], 9))
            out.append(Exhibit(kind, name, files[0].get("caption", ""), counters[kind], files))
        return out


def find_runs(outputs_root: Path) -> list[Run]:
    """Every completed run folder ``<root>/<study>/<profile>/`` (site and dot-folders skipped)."""
    runs = []
    if not outputs_root.is_dir():
        return runs
    for man_path in sorted(outputs_root.glob("*/*/manifest.json")):
        folder = man_path.parent
        if folder.name.startswith(".") or folder.parent.name.startswith(".") or folder.parent.name == "site":
            continue
        if folder.name.endswith(".failed"):
            continue
        try:
            man = json.loads(man_path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if "run" not in man or not (folder / "notebook.ipynb").is_file():
            continue  # an interactive run or an incomplete folder
        try:
            results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            results = {}
        runs.append(Run(folder.parent.name, folder.name, folder, man, results))
    return runs


def find_failures(outputs_root: Path) -> list[tuple[str, str, Path, str]]:
    """(study, profile, folder, message) of every kept failed run."""
    out = []
    if not outputs_root.is_dir():
        return out
    for folder in sorted(outputs_root.glob("*/*.failed")):
        if not folder.is_dir():
            continue
        msg_file = folder / "FAILED.txt"
        msg = msg_file.read_text(encoding="utf-8").strip() if msg_file.is_file() else "failed"
        out.append((folder.parent.name, folder.name[: -len(".failed")], folder, msg))
    return out


# ------------------------------------------------------------------------------------------
# Page helpers
# ------------------------------------------------------------------------------------------
CSS = """
:root { --fg:#1d2125; --muted:#5f6b76; --line:#d9dee3; --accent:#1f5f99; --bad:#a4262c; --ok:#1e7b34; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1100px; padding: 1.5rem 1.25rem 4rem; }
a { color: var(--accent); }
h1 { font-size: 1.6rem; margin: .2rem 0 1rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
  border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
nav.crumbs { font-size: .9rem; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; padding: .75rem; overflow: auto; max-height: 32rem; border: 1px solid var(--line); }
figure { margin: 1.25rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9rem; margin: .3rem 0; }
.status-ok { color: var(--ok); font-weight: 600; } .status-bad { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); } .small { font-size: .85em; max-width: 32rem; } .files a { margin-right: .5rem; } td.files, td.nowrap { white-space: nowrap; }
.table-wrap { overflow: auto; max-height: 28rem; border: 1px solid var(--line); }
.table-wrap table { margin: 0; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
"""


# a 1x1 PNG (browsers accept PNG data as favicon.ico)
_FAVICON_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63908f9ff91f0003cf0217b6c1690f0000000049454e44ae426082"
)


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _page(title: str, body: str, css_href: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<link rel=\"icon\" href=\"data:,\">\n"
        f"<link rel=\"stylesheet\" href=\"{css_href}\">\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return _e(v)


def _cell_link(entry: dict[str, Any], nb_href: str = "notebook.html") -> str:
    count = entry.get("execution_count")
    source_cell = entry.get("source_cell")
    if count is None and source_cell is None:
        return '<span class="muted">-</span>'
    label = f"cell {source_cell}" if source_cell is not None else "cell"
    if count is not None:
        label += f" (In&nbsp;[{_e(count)}])"
    cell_id = entry.get("cell_id")
    href = f"{nb_href}#cell-id={_e(cell_id)}" if cell_id else nb_href
    return f'<a href="{href}">{label}</a>'


def _kv(items: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="kv">{rows}</dl>'


def _short(sha: Any, n: int = 12) -> str:
    return _e(str(sha)[:n]) if sha else "-"


#: rows of a table shown inline on a run's page (the CSV, LaTeX and HTML files have all)
INLINE_ROWS = 25


def _read_csv_rows(path: Path, limit: int = INLINE_ROWS) -> tuple[list[str], list[list[str]], int]:
    """Header, the first ``limit`` rows and the number of rows of a CSV file."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows, n = [], 0
        for row in reader:
            if n < limit:
                rows.append(row)
            n += 1
    return header, rows, n


def _run_page(run: Run, has_failure: str | None, failed_page: bool = False) -> str:
    man, r = run.manifest, run.manifest.get("run", {})
    exhibits = run.exhibits()
    parts = [
        '<nav class="crumbs"><a href="../../index.html">All studies</a> &rsaquo; '
        f"{_e(run.study)} &rsaquo; {_e(run.profile)}</nav>",
        f"<h1>{_e(run.study)} <span class=\"muted\">/ {_e(run.profile)}</span></h1>",
    ]
    if has_failure:
        parts.append(
            f'<p class="status-bad">The latest attempt of this profile failed: {_e(has_failure)}'
            + (' (<a href="failed.html">partial notebook</a>)' if failed_page else "")
            + '. The outputs below are from the last successful run.</p>'
        )
    git = man.get("git") or {}
    parts.append(_kv([
        ("notebook", '<a href="notebook.html">executed notebook (HTML)</a> &middot; '
                     '<a href="files/notebook.ipynb">notebook.ipynb</a>'),
        ("run", f"{_e(r.get('started_at'))} &rarr; {_e(r.get('finished_at'))} "
                f"({_e(r.get('seconds'))} s{', forced' if r.get('forced') else ''})"),
        ("source", f"{_e(r.get('notebook'))}, profile {_e(r.get('profile_file') or '(defaults)')}"
                   + (f", overrides {_e(r.get('overrides'))}" if r.get("overrides") else "")),
        ("git commit", f"<code>{_short(git.get('commit'))}</code>"
                       + (' <span class="status-bad">(uncommitted changes)</span>' if git.get("dirty") else "")),
        ("cache key", f"<code>{_short(r.get('cache_key'), 16)}</code>"),
        ("files", '<a href="files/manifest.json">manifest.json</a> &middot; '
                  '<a href="files/results.json">results.json</a>'),
    ]))

    # exhibits list
    parts.append('<h2 id="exhibits">Tables and figures</h2>')
    if exhibits:
        rows = []
        for ex in exhibits:
            files = " ".join(
                f'<a href="files/{_e(f["path"])}">{_e(f["path"].rsplit(".", 1)[-1])}</a>' for f in ex.files
            )
            rows.append(
                f'<tr><td><a href="#{ex.kind}-{_e(ex.name)}">{ex.label}</a></td><td><code>{_e(ex.name)}</code></td>'
                f"<td>{_e(ex.caption)}</td><td>{_cell_link(ex.cell)}</td><td class=\"files\">{files}</td></tr>"
            )
        parts.append("<table><thead><tr><th>Exhibit</th><th>Name</th><th>Caption</th><th>Notebook cell</th>"
                     "<th>Files</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    else:
        parts.append('<p class="muted">This run wrote no tables or figures.</p>')

    for ex in exhibits:
        caption = f"<figcaption><strong>{ex.label}.</strong> {_e(ex.caption)} " \
                  f"<span class=\"muted\">({_cell_link(ex.cell)})</span></figcaption>"
        if ex.kind == "figure":
            img = next((f for f in ex.files if f["path"].endswith((".png", ".svg"))), None)
            if img is None:
                continue
            parts.append(f'<figure id="figure-{_e(ex.name)}">{caption}'
                         f'<img src="files/{_e(img["path"])}" alt="{_e(ex.caption or ex.name)}"></figure>')
        else:
            csv_file = next((f for f in ex.files if f["path"].endswith(".csv")), None)
            body = ""
            if csv_file is not None:
                header, rows, n_rows = _read_csv_rows(run.folder / csv_file["path"])
                more = ""
                if n_rows > len(rows):
                    more = (f'<p class="muted">First {len(rows)} of {n_rows:,} rows; '
                            f'<a href="files/{_e(csv_file["path"])}">the CSV</a> has all.</p>')
                body = ('<div class="table-wrap"><table><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header)
                        + "</tr></thead><tbody>"
                        + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
                        + "</tbody></table></div>" + more)
            parts.append(f'<figure id="table-{_e(ex.name)}">{caption}{body}</figure>')

    # numbers
    parts.append('<h2 id="numbers">Recorded numbers</h2>')
    records = man.get("records") or {}
    if run.results:
        rows = "".join(
            f"<tr><td><code>{_e(k)}</code></td><td class=\"num\">{_fmt_value(v)}</td>"
            f"<td>{_cell_link(records.get(k) or {})}</td></tr>"
            for k, v in sorted(run.results.items())
        )
        parts.append("<table><thead><tr><th>Name</th><th>Value</th><th>Notebook cell</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    else:
        parts.append('<p class="muted">No numbers recorded.</p>')

    # data issues
    parts.append('<h2 id="data-issues">Data problems found</h2>')
    di = run.folder / "tables" / "data_issues.csv"
    if di.is_file():
        header, rows, _ = _read_csv_rows(di, limit=1000)
        if rows:
            parts.append("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
                         + "</tbody></table>")
        else:
            parts.append('<p>None: every check passed.</p>')
    else:
        parts.append('<p class="muted">No data-issue table written.</p>')

    # parameters, inputs, environment
    parts.append('<h2 id="parameters">Parameters</h2>')
    params = man.get("parameters") or {}
    parts.append("<table><thead><tr><th>Parameter</th><th>Value</th></tr></thead><tbody>"
                 + "".join(f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(json.dumps(v))}</code></td></tr>"
                           for k, v in sorted(params.items()))
                 + "</tbody></table>")
    inputs = man.get("inputs") or []
    parts.append('<h2 id="inputs">Inputs</h2>')
    if inputs:
        parts.append("<table><thead><tr><th>Parameter</th><th>Path</th><th>Kind</th><th>Bytes</th>"
                     "<th>SHA-256</th></tr></thead><tbody>"
                     + "".join(f"<tr><td><code>{_e(i.get('key'))}</code></td><td>{_e(_rel(i.get('path')))}</td>"
                               f"<td>{_e(i.get('kind'))}</td><td class=\"num\">{_e(i.get('bytes', ''))}</td>"
                               f"<td><code title=\"{_e(i.get('sha256'))}\">{_short(i.get('sha256'), 16)}</code></td></tr>"
                               for i in inputs)
                     + "</tbody></table>")
    else:
        parts.append('<p class="muted">No input files (the data are generated in the notebook).</p>')
    env = man.get("environment") or {}
    pk = env.get("packages") or {}
    parts.append('<h2 id="environment">Environment</h2>')
    parts.append(_kv([("python", _e(env.get("python"))), ("platform", _e(env.get("platform"))),
                      ("requirements.lock", f"<code>{_short(env.get('lock_sha256'), 16)}</code>"),
                      ("packages", ", ".join(f"{_e(k)}&nbsp;{_e(v)}" for k, v in sorted(pk.items())))]))
    parts.append('<h2 id="manifest">Manifest</h2>'
                 '<p><a href="files/manifest.json">manifest.json</a>: parameters, provenance, seeds, inputs and '
                 "every output with its size, SHA-256 and cell.</p>"
                 f"<details><summary>Show</summary><pre>{_e(json.dumps(man, indent=1, sort_keys=True))}</pre></details>")
    return _page(f"{run.study} / {run.profile} - studykit report", "\n".join(parts), "../../style.css")


def _when(stamp: Any) -> str:
    """``2026-11-28T13:57:35+00:00`` -> ``2026-11-28 13:57``."""
    text = str(stamp or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _rel(p: Any) -> str:
    if not p:
        return ""
    try:
        return Path(p).resolve().relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(p)


def notebook_title(nb_path: Path) -> str:
    """The first markdown heading of a notebook (its question), or '' when it has none."""
    try:
        nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = cell.get("source", "")
        for line in (src if isinstance(src, str) else "".join(src)).splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def _index_page(runs: list[Run], failures: list[tuple[str, str, Path, str]], studies: list[str],
                root: Path | None = None) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    parts = ["<h1>studykit report</h1>",
             f'<p class="muted">Built {now} from <code>{_e(_rel(root or paths.outputs_dir()))}/</code>. '
             "Each row is one study run with one parameter profile; its page lists every table and figure with "
             "the notebook cell that made it, the recorded numbers and the full manifest.</p>"]
    failed_map = {(s, p): msg for s, p, _, msg in failures}
    if runs:
        rows = []
        for run in runs:
            man, r = run.manifest, run.manifest.get("run", {})
            ex = run.exhibits()
            n_t = sum(1 for e in ex if e.kind == "table")
            n_f = sum(1 for e in ex if e.kind == "figure")
            git = man.get("git") or {}
            status = ('<span class="status-bad">latest attempt failed</span>' if (run.study, run.profile) in failed_map
                      else '<span class="status-ok">ok</span>')
            rows.append(
                f'<tr><td><a href="{_e(run.study)}/{_e(run.profile)}/index.html">{_e(run.study)}</a>'
                f'<div class="muted small">{_e(notebook_title(run.folder / "notebook.ipynb"))}</div></td>'
                f"<td>{_e(run.profile)}</td><td>{status}</td><td class=\"nowrap\">{_e(_when(r.get('finished_at')))}</td>"
                f"<td class=\"num\">{_e(r.get('seconds'))}</td><td class=\"num\">{n_t}</td><td class=\"num\">{n_f}</td>"
                f"<td class=\"num\">{len(run.results)}</td>"
                f"<td><code>{_short(git.get('commit'), 8)}</code>{' (dirty)' if git.get('dirty') else ''}</td>"
                f'<td><a href="{_e(run.study)}/{_e(run.profile)}/notebook.html">notebook</a></td></tr>'
            )
        parts.append("<table><thead><tr><th>Study</th><th>Profile</th><th>Status</th><th>Finished (UTC)</th>"
                     "<th>Seconds</th><th>Tables</th><th>Figures</th><th>Numbers</th><th>Commit</th><th></th></tr>"
                     "</thead><tbody>" + "".join(rows) + "</tbody></table>")
    else:
        parts.append("<p>No runs yet: <code>studykit run all</code> (or <code>make reproduce</code>) makes them.</p>")
    done = {run.study for run in runs}
    orphans = [(s, p, f, m) for s, p, f, m in failures if not any(r.study == s and r.profile == p for r in runs)]
    if orphans:
        parts.append("<h2>Failed runs without a successful one</h2><ul>" + "".join(
            (f'<li><a href="{_e(s)}/{_e(p)}/failed.html">{_e(s)} / {_e(p)}</a>: {_e(m)}</li>'
             if (f / "notebook.ipynb").is_file() else f"<li>{_e(s)} / {_e(p)}: {_e(m)}</li>")
            for s, p, f, m in orphans
        ) + "</ul>")
    missing = [s for s in studies if s not in done]
    if missing:
        parts.append("<h2>Not run yet</h2><p>" + ", ".join(f"<code>{_e(s)}</code>" for s in missing) + "</p>")
    return _page("studykit report", "\n".join(parts), "style.css")


# ------------------------------------------------------------------------------------------
def _notebook_key(nb_path: Path, title: str) -> str:
    """What a notebook page depends on: the notebook, the title, this module and nbconvert's version."""
    import hashlib
    from importlib import metadata

    h = hashlib.sha256()
    h.update(nb_path.read_bytes())
    h.update(title.encode() + b"\0" + Path(__file__).read_bytes())
    h.update(metadata.version("nbconvert").encode())
    return h.hexdigest()


def _notebook_page(nb_path: Path, title: str, target: Path, previous: Path) -> None:
    """Write ``target`` (notebook as HTML), reusing the previous site's page when nothing changed.

    nbconvert is the slow part of the report; with this, rebuilding the report after a
    fully cached ``studykit run all`` takes about a second.
    """
    key = _notebook_key(nb_path, title)
    stamp = previous.with_name(f".{previous.name}.key")
    if previous.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        shutil.copy2(previous, target)
    else:
        write_text_atomic(target, notebook_to_html(nb_path, title))
    write_text_atomic(target.with_name(f".{target.name}.key"), key + "\n")


def build_report(out_dir: str | os.PathLike | None = None, outputs_root: str | os.PathLike | None = None) -> Path:
    """Write the site and return the path of its ``index.html``."""
    from studykit.studies import STUDIES

    root = Path(paths.resolve(outputs_root)) if outputs_root else paths.outputs_dir()
    site = Path(paths.resolve(out_dir)) if out_dir else root / "site"
    check_replaceable(site, SITE_MARKER, "report site")
    runs = [r for r in find_runs(root) if r.folder.resolve() != site.resolve()]
    failures = find_failures(root)
    failed_map = {(s, p): (folder, msg) for s, p, folder, msg in failures}

    site.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_beside(site, SITE_MARKER)
    try:
        write_text_atomic(tmp / "style.css", CSS.lstrip())
        # browsers ask every served page's origin for /favicon.ico (the raw table fragments have no <head>)
        (tmp / "favicon.ico").write_bytes(_FAVICON_PNG)
        for run in runs:
            page_dir = tmp / run.study / run.profile
            files = page_dir / "files"
            files.mkdir(parents=True)
            for entry in run.manifest.get("outputs", []):
                src = run.folder / entry["path"]
                if src.is_file():
                    (files / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, files / entry["path"])
            shutil.copy2(run.folder / "manifest.json", files / "manifest.json")
            if (run.folder / "results.json").is_file():
                shutil.copy2(run.folder / "results.json", files / "results.json")
            else:
                write_text_atomic(files / "results.json", "{}\n")
            shutil.copy2(run.folder / "notebook.ipynb", files / "notebook.ipynb")
            _notebook_page(run.folder / "notebook.ipynb", f"{run.study} / {run.profile}",
                           page_dir / "notebook.html", site / run.study / run.profile / "notebook.html")
            failure = failed_map.get((run.study, run.profile))
            failed_page = False
            if failure and (failure[0] / "notebook.ipynb").is_file():
                _notebook_page(failure[0] / "notebook.ipynb", f"{run.slug} (failed)",
                               page_dir / "failed.html", site / run.study / run.profile / "failed.html")
                failed_page = True
            write_text_atomic(page_dir / "index.html",
                              _run_page(run, failure[1] if failure else None, failed_page))
        for s, p, folder, _ in failures:
            page_dir = tmp / s / p
            if (page_dir / "failed.html").exists() or not (folder / "notebook.ipynb").is_file():
                continue
            page_dir.mkdir(parents=True, exist_ok=True)
            _notebook_page(folder / "notebook.ipynb", f"{s}/{p} (failed)", page_dir / "failed.html",
                           site / s / p / "failed.html")
        write_text_atomic(tmp / "index.html", _index_page(runs, failures, list(STUDIES), root))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, site)
    return site / "index.html"


__all__ = ["build_report", "notebook_to_html", "offline_html", "find_runs", "latex_to_mathml"]
