"""The browsable report: ``outputs/site/index.html`` and one page per study run.

For every run folder ``outputs/<study>/<profile>/`` (a ``manifest.json`` with
a ``run`` section, written by :mod:`studykit.runs.runner`) the report holds

- the executed notebook as HTML, working offline (:mod:`studykit.site.notebook_html`);
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

The pages are Jinja2 templates (``templates/report/*.html.j2``, with the
stylesheet ``style.css``) rendered with autoescaping on: every value taken from
a manifest, a CSV or a notebook is text in the page, never markup. This module
only gathers what each page shows.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import jinja2

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.site import notebook_html
from studykit.files.fileio import write_text_atomic
from studykit.files.folders import check_folder, replace_dir, seal, temp_dir_beside, writing
from studykit.site.reportruns import (Exhibit, Run, Unreadable, find_failures, find_runs, is_run_folder,  # noqa: F401
                                 load_run, read_failure, safe_file, scan_runs)
from studykit.files.tablefmt import format_csv_rows
from studykit.site.notebook_html import _protect_math, latex_to_mathml, notebook_to_html, offline_html  # noqa: F401

# ------------------------------------------------------------------------------------------
# Pages (Jinja2 templates in ``templates/report/``, autoescaped)
# ------------------------------------------------------------------------------------------
_TEMPLATES = Path(__file__).with_name("templates") / "report"

# a 1x1 PNG (browsers accept PNG data as favicon.ico)
_FAVICON_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63908f9ff91f0003cf0217b6c1690f0000000049454e44ae426082"
)

#: rows of a table shown inline on a run's page (the CSV, LaTeX and HTML files have all)
INLINE_ROWS = 25


#: ``studykit report RUN_FOLDER`` writes its site beside the run folder, in ``RUN_FOLDER`` + this suffix
SITE_SUFFIX = ".site"


def _text(x: Any) -> str:
    return "" if x is None else str(x)


def _fmt_value(v: Any) -> str:
    """A recorded number as shown on a run's page (floats to 6 significant digits)."""
    return f"{v:.6g}" if isinstance(v, float) else _text(v)


def _short(sha: Any, n: int = 12) -> str:
    return str(sha)[:n] if sha else "-"


def _when(stamp: Any) -> str:
    """``2026-11-28T13:57:35+00:00`` -> ``2026-11-28 13:57``."""
    text = str(stamp or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _rel(p: Any) -> str:
    if not p:
        return ""
    if not isinstance(p, (str, os.PathLike)):
        return _text(p)
    try:
        return Path(p).resolve().relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(p)


def _href(*segments: str) -> str:
    """A relative link to a folder of the site: each path segment percent-encoded, ending in ``/``."""
    return "".join(quote(s, safe="") + "/" for s in segments)


@functools.lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    """The report's templates. Autoescaping is on for every template: a value from data or
    parameters is always text in the page, never markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(text=_text, number=_fmt_value, short=_short, rel=_rel)
    return env


def _render(template: str, **context: Any) -> str:
    return _templates().get_template(template).render(**context)


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


def _exhibit_view(run: Run, ex: Exhibit) -> dict[str, Any]:
    """What the run page shows of one exhibit: its files, and the image or the first rows of the CSV."""
    view: dict[str, Any] = {"kind": ex.kind, "name": ex.name, "caption": ex.caption, "label": ex.label,
                            "cell": ex.cell, "files": ex.files, "image": None, "csv": None}
    if ex.kind == "figure":
        view["image"] = next((f["path"] for f in ex.files if f["path"].endswith((".png", ".svg"))), None)
    else:
        csv_file = next((f["path"] for f in ex.files if f["path"].endswith(".csv")), None)
        if csv_file is not None:
            header, rows, view["n_rows"] = _read_csv_rows(safe_file(run.folder, csv_file))
            view["header"], view["rows"] = header, format_csv_rows(header, rows)
            view["csv"] = csv_file
    return view


def _run_page(run: Run, has_failure: str | None, failed_page: bool = False,
              index_href: str | None = "../../index.html", css_href: str = "../../style.css") -> str:
    """A run's page: exhibits with their cells and files, numbers, data problems, parameters, inputs."""
    man = run.manifest
    records = man.get("records") or {}
    issues = None
    data_issues = safe_file(run.folder, "tables/data_issues.csv")
    if data_issues is not None:
        header, rows, _ = _read_csv_rows(data_issues, limit=1000)
        issues = {"header": header, "rows": rows}
    env = man.get("environment") or {}
    return _render(
        "run.html.j2",
        title=f"{run.study} / {run.profile} - studykit report", css_href=css_href, index_href=index_href,
        study=run.study, profile=run.profile, failure=has_failure, failed_page=failed_page,
        r=run.info, has_notebook=run.has_notebook, git=man.get("git") or {},
        exhibits=[_exhibit_view(run, ex) for ex in run.exhibits()],
        numbers=[(k, v, records.get(k) or {}) for k, v in sorted(run.results.items())],
        issues=issues,
        parameters=[(k, json.dumps(v)) for k, v in sorted((man.get("parameters") or {}).items())],
        inputs=man.get("inputs") or [],
        env=env, packages=sorted((env.get("packages") or {}).items()),
        manifest_json=json.dumps(man, indent=1, sort_keys=True), skipped=run.skipped,
    )


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


def _copy_sweeps(root: Path, site: Path) -> list[dict[str, str]]:
    """Copy every multiverse sweep's page, table and figure into ``site/sweeps/``; their index rows."""
    from studykit.sweep import sweep_pages

    rows = []
    for study, name, rel in sweep_pages(root):
        if safe_file(root, rel) is None:
            continue  # a sweep folder reached through a link is not the report's to copy
        src = (root / rel).parent
        dest = site / "sweeps" / study / name
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(src.iterdir()):
            if f.suffix in (".html", ".csv", ".png", ".svg", ".json") and safe_file(src, f.name) is not None:
                shutil.copy2(f, dest / f.name)
            elif not f.is_symlink() and f.is_dir() and safe_file(f, "notebook.ipynb") is not None:
                (dest / f.name).mkdir(exist_ok=True)  # the page links each point's notebook
                shutil.copy2(f / "notebook.ipynb", dest / f.name / "notebook.ipynb")
        rows.append({"study": study, "name": name, "href": _href("sweeps", study, name) + "index.html"})
    return rows


def _docs_site(site: Path, previous: Path | None = None, links: tuple[tuple[str, str], ...] = ()) -> str | None:
    """Build the lessons and study documentation into ``site/docs/``; its index's href (None without sources).

    ``previous``: the site being replaced; its ``docs/`` is reused when the sources did not change.
    ``links``: report pages (title, href in the site) the docs' navigation links to."""
    from studykit.site.docsite import build_docs_site, sources

    if not sources():
        return None
    build_docs_site(site / "docs", reuse=previous / "docs" if previous is not None else None, links=links)
    return "docs/index.html"


def _scorecard_page(runs: list[Run], studies: list[str]) -> str | None:
    """The replication scorecard (:mod:`studykit.site.scorecard`) from the runs' results; None without headlines."""
    from studykit.site.scorecard import load_headlines, score

    headlines = load_headlines(studies)
    if not headlines:
        return None
    results = {(run.study, run.profile): run.results for run in runs}
    cells = [{**c.__dict__, "href": _href(c.study, c.profile) + "index.html" if (c.study, c.profile) in results
              else ""} for c in score(headlines, results)]
    return _render("scorecard.html.j2", title="Replication scorecard", css_href="style.css", cells=cells)


def _overrides_text(overrides: Any) -> str:
    """``key=value`` for every overridden parameter of a run (``--set``), as the run summary prints them; "" for none."""
    from studykit.contract.profiles import override_text

    if not isinstance(overrides, dict) or not overrides:
        return ""
    return ", ".join(f"{k}={override_text(v, width=None)}" for k, v in sorted(overrides.items()))


def _index_page(runs: list[Run], failures: list[tuple[str, str, Path, str]], studies: list[str],
                root: Path | None = None, *, sweeps: list[dict[str, str]] | None = None,
                docs_href: str | None = None, scorecard_href: str | None = None,
                unreadable: list[Unreadable] | None = None) -> str:
    """The site's front page: one row per run, failed runs without a successful one, studies not run."""
    failed = {(s, p) for s, p, _, _ in failures}
    rows = []
    for run in runs:
        r, git = run.info, run.manifest.get("git") or {}
        exhibits = run.exhibits()
        rows.append({
            "study": run.study, "profile": run.profile, "href": _href(run.study, run.profile),
            "overrides": _overrides_text(r.get("overrides")),
            "has_notebook": run.has_notebook,
            "title": notebook_title(run.folder / "notebook.ipynb") if run.has_notebook else "",
            "failed": (run.study, run.profile) in failed,
            "finished": _when(r.get("finished_at")), "seconds": _text(r.get("seconds")),
            "n_tables": sum(1 for e in exhibits if e.kind == "table"),
            "n_figures": sum(1 for e in exhibits if e.kind == "figure"),
            "n_numbers": len(run.results), "commit": _short(git.get("commit"), 8), "dirty": git.get("dirty"),
        })
    ran = {(run.study, run.profile) for run in runs}
    orphans = [{"study": s, "profile": p, "href": _href(s, p), "message": m,
                "has_notebook": safe_file(f, "notebook.ipynb") is not None}
               for s, p, f, m in failures if (s, p) not in ran]
    done = {run.study for run in runs}
    return _render(
        "index.html.j2", title="studykit report", css_href="style.css",
        built_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        root=_rel(root or paths.outputs_dir()), runs=rows, orphans=orphans,
        missing=[s for s in studies if s not in done], sweeps=sweeps or [], docs_href=docs_href,
        scorecard_href=scorecard_href,
        unreadable=[{"study": u.study, "profile": u.profile, "folder": _rel(u.folder), "reason": u.reason}
                    for u in unreadable or []],
    )


# ------------------------------------------------------------------------------------------
def _notebook_key(nb_path: Path, title: str) -> str:
    """What a notebook page depends on: the notebook, the title, the converter and nbconvert's version."""
    import hashlib
    from importlib import metadata

    h = hashlib.sha256()
    h.update(nb_path.read_bytes())
    h.update(title.encode() + b"\0" + Path(notebook_html.__file__).read_bytes())
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


def build_report(out_dir: str | os.PathLike | None = None, outputs_root: str | os.PathLike | None = None,
                 on_note: Callable[[str], None] | None = None) -> Path:
    """Write the site and return the path of its ``index.html``.

    ``outputs_root`` is a folder of runs (``<study>/<profile>/``; default ``outputs/``, site in
    ``outputs/site``) or one run's folder (it holds ``manifest.json`` and ``results.json``, for
    example ``outputs/<study>/interactive``; site beside it in ``<run>.site``, never inside the run
    folder, which stays exactly what the run wrote: :data:`SITE_SUFFIX`), reported alone. Runs that
    cannot be read (:mod:`studykit.site.reportruns`) are listed on the index page and passed to
    ``on_note`` as one line each; a single run folder that cannot be read is a ParamError.
    """
    from studykit.contract.registry import names

    STUDIES = names()
    root = Path(paths.resolve(outputs_root)) if outputs_root else paths.outputs_dir()
    if outputs_root and not root.is_dir():
        raise ParamError(f"report: {root} is not a folder")
    single = is_run_folder(root)
    if single:
        run = load_run(root, known=tuple(STUDIES))
        if isinstance(run, Unreadable):
            raise ParamError(f"report: {run.line()}")
        runs, studies, unreadable = [run], [], []
        failed = root.with_name(f"{root.name}.failed")
        failures = ([read_failure(failed, run.study, run.profile)]
                    if failed.is_dir() and not failed.is_symlink() else [])
    else:
        (runs, unreadable), studies = scan_runs(root), list(STUDIES)
        failures = find_failures(root)
    if out_dir:
        site = Path(paths.resolve(out_dir))
    else:
        site = root.with_name(root.name + SITE_SUFFIX) if single else root / "site"
    if single and (site.resolve() == root.resolve() or root.resolve() in site.resolve().parents):
        raise ParamError(f"report: --out {site} is inside the run folder {root}; choose a folder outside it "
                         f"(default: {root.name}{SITE_SUFFIX} beside it)")
    check_folder(site, "site", replace=True)
    runs = [r for r in runs if r.folder.resolve() != site.resolve()]
    with writing(site, "site"):
        site.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir_beside(site, "site")
        try:
            _write_site(tmp, site, root, runs, failures, studies, unreadable, single)
            seal(tmp, "site")
            replace_dir(tmp, site, "site")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    for u in unreadable:
        if on_note is not None:
            on_note(f"report: skipped {u.line()}")
    return site / "index.html"


def _write_run(run: Run, page_dir: Path, previous: Path, failure: tuple[Path, str] | None) -> None:
    """One run's page, its notebook page(s) and its files (``previous``: the old site's page folder)."""
    files = page_dir / "files"
    files.mkdir(parents=True)
    for entry in run.outputs:
        (files / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(safe_file(run.folder, entry["path"]), files / entry["path"])
    shutil.copy2(run.folder / "manifest.json", files / "manifest.json")
    if safe_file(run.folder, "results.json") is not None:
        shutil.copy2(run.folder / "results.json", files / "results.json")
    else:
        write_text_atomic(files / "results.json", "{}\n")
    if run.has_notebook:
        shutil.copy2(run.folder / "notebook.ipynb", files / "notebook.ipynb")
        _notebook_page(run.folder / "notebook.ipynb", f"{run.study} / {run.profile}",
                       page_dir / "notebook.html", previous / "notebook.html")
    failed_page = False
    if failure and safe_file(failure[0], "notebook.ipynb") is not None:
        _notebook_page(failure[0] / "notebook.ipynb", f"{run.slug} (failed)", page_dir / "failed.html",
                       previous / "failed.html")
        failed_page = True
    write_text_atomic(page_dir / "index.html", _run_page(run, failure[1] if failure else None, failed_page))


def _write_site(tmp: Path, site: Path, root: Path, runs: list[Run], failures: list[tuple[str, str, Path, str]],
                studies: list[str], unreadable: list[Unreadable], single: bool) -> None:
    """Fill the temporary site folder ``tmp`` (``site`` is the previous site, whose notebook pages are reused)."""
    failed_map = {(s, p): (folder, msg) for s, p, folder, msg in failures}
    write_text_atomic(tmp / "style.css", (_TEMPLATES / "style.css").read_text(encoding="utf-8"))
    # browsers ask every served page's origin for /favicon.ico (the raw table fragments have no <head>)
    (tmp / "favicon.ico").write_bytes(_FAVICON_PNG)
    for run in list(runs):
        page_dir = tmp / run.study / run.profile
        try:
            _write_run(run, page_dir, site / run.study / run.profile, failed_map.get((run.study, run.profile)))
        except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
            # a manifest with a shape manifest_problem() did not foresee: this run only is left out
            shutil.rmtree(page_dir, ignore_errors=True)
            runs.remove(run)
            unreadable.append(Unreadable(run.study, run.profile, run.folder, "manifest.json or results.json could "
                                         f"not be shown ({type(exc).__name__}: {str(exc)[:80]})"))
    for s, p, folder, _ in failures:
        page_dir = tmp / s / p
        if (page_dir / "failed.html").exists() or safe_file(folder, "notebook.ipynb") is None:
            continue
        page_dir.mkdir(parents=True, exist_ok=True)
        _notebook_page(folder / "notebook.ipynb", f"{s}/{p} (failed)", page_dir / "failed.html",
                       site / s / p / "failed.html")
    extras: dict[str, Any] = {}
    if not single:
        scorecard = _scorecard_page(runs, studies)
        if scorecard is not None:
            write_text_atomic(tmp / "scorecard.html", scorecard)
            extras["scorecard_href"] = "scorecard.html"
        links = (("Replication scorecard", "scorecard.html"),) if scorecard is not None else ()
        extras.update(sweeps=_copy_sweeps(root, tmp), docs_href=_docs_site(tmp, previous=site, links=links))
    write_text_atomic(tmp / "index.html", _index_page(runs, failures, studies, root, unreadable=unreadable, **extras))


__all__ = ["SITE_SUFFIX", "build_report", "notebook_to_html", "offline_html", "find_runs", "latex_to_mathml",
           "load_run", "Run"]
