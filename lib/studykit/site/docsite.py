"""The lessons and the study documentation as a small static site, built offline.

``studykit report`` writes it into ``<site>/docs/`` (linked from the report's
index), and :func:`build_docs_site` builds it anywhere. Sources, in the order
of the navigation: ``workshop/README.md`` (the schedule and objectives),
``workshop/setup/*.md``, ``workshop/episodes/*.md``, the other
``workshop/*.md`` pages, ``docs/studies/*.md`` and ``docs/*.md``.

Rendering: Markdown through mistune (already installed with nbconvert; tables,
strikethrough and autolinks), raw HTML in the sources escaped, links between
``.md`` files rewritten to the ``.html`` pages, images under ``docs/`` copied
beside the pages. No network, no JavaScript; the folder is replaced
atomically and follows studykit's one folder rule (:mod:`studykit.files.folders`:
a marker listing every page, so only a folder studykit wrote, holding nothing
else, is ever replaced).

Rebuilding: ``index.html`` records the hash of what the folder was made from
(every file under ``workshop/`` and ``docs/``, this module, mistune's version)
in a comment; given the previous folder as ``reuse``, an unchanged build copies
it instead of rendering every page again (what ``studykit report`` does).
"""
from __future__ import annotations

import hashlib
import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.files.folders import FolderRefused, building_dir, check_folder, marker_kind

__all__ = ["build_docs_site", "docs_key", "sources"]

#: the comment of ``index.html`` holding the hash of the sources the folder was made from (:func:`docs_key`)
KEY_COMMENT = "<!-- studykit docs key: {key} -->"

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - studykit</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; display: flex; color: #1d1d1f; }}
nav {{ width: 17rem; padding: 1rem; background: #f4f4f6; min-height: 100vh; font-size: 0.9rem; }}
nav h2 {{ font-size: 0.8rem; text-transform: uppercase; color: #666; margin: 1.2rem 0 0.3rem; }}
nav a {{ display: block; padding: 0.15rem 0; color: #124; text-decoration: none; }}
nav a.here {{ font-weight: bold; }}
main {{ max-width: 52rem; padding: 1rem 2rem 4rem; line-height: 1.5; }}
pre {{ background: #f6f8fa; padding: 0.6rem; overflow-x: auto; }}
code {{ font-size: 0.92em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; }}
img {{ max-width: 100%; }}
</style></head>
<body><nav><a href="{up}index.html"><b>studykit docs</b></a>{nav}</nav>
<main>{body}</main></body></html>
"""


@dataclass(frozen=True)
class Source:
    """One page: where its Markdown is, its output path (relative), its title and its section."""

    path: Path
    rel: str
    title: str
    section: str


def _title(text: str, fallback: str) -> str:
    """The page's first Markdown heading (any level: some study pages start at ``##`` because they are also
    included in longer documents), as plain text; ``fallback`` only for a page without a heading."""
    prose = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.M | re.S)  # a "# comment" in a code block is no heading
    m = re.search(r"^#{1,6}\s+(.+?)\s*#*$", prose, re.M)
    if not m:
        return fallback
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))  # [text](link) -> text
    title = re.sub(r"\*\*(.+?)\*\*", r"\1", title.replace("`", ""))  # code spans and bold as plain text
    return title.strip() or fallback


def sources(root: Path | None = None) -> list[Source]:
    """Every page of the site, in navigation order (see the module docstring)."""
    root = root or paths.project_root()
    groups = [
        ("Workshop", [root / "workshop" / "README.md"]),
        ("Setup", sorted((root / "workshop" / "setup").glob("*.md"))),
        ("Episodes", sorted((root / "workshop" / "episodes").glob("*.md"))),
        ("Workshop", sorted(p for p in (root / "workshop").glob("*.md") if p.name != "README.md")),
        ("Studies", sorted((root / "docs" / "studies").glob("*.md"))),
        ("Reference", sorted((root / "docs").glob("*.md"))),
    ]
    out = []
    for section, files in groups:
        for f in files:
            if not f.is_file():
                continue
            rel = f.relative_to(root).with_suffix(".html").as_posix()
            if rel == "workshop/README.html":
                rel = "index.html"
            out.append(Source(f, rel, _title(f.read_text(encoding="utf-8"), f.stem), section))
    return out


def _rewrite_links(body: str, page: Source, by_path: dict[Path, Source]) -> str:
    """``href="x.md"`` -> the page's relative ``.html``; links to files outside the site stay as text."""
    def fix(m: re.Match) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            return m.group(0)
        src = (page.path.parent / target).resolve()
        if src in by_path:
            rel = Path(*[".."] * len(Path(page.rel).parent.parts), by_path[src].rel).as_posix()
            return f'{m.group(1)}="{rel}{anchor}"'
        return m.group(0)

    return re.sub(r'(href|src)="([^"#]+)(#[^"]*)?"', fix, body)


def docs_key(root: Path | None = None) -> str:
    """What the site is made from: every file under ``workshop/`` and ``docs/`` (path and bytes), this
    module and mistune's version."""
    from importlib import metadata

    root = root or paths.project_root()
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(metadata.version("mistune").encode())
    for top in ("workshop", "docs"):
        for f in sorted((root / top).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and ".ipynb_checkpoints" not in f.parts:
                h.update(b"\0" + f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _built_from(folder: Path, key: str) -> bool:
    """``folder`` is a docs site studykit wrote, holding only what it listed, whose ``index.html`` says it was
    made from sources with ``key``."""
    index = folder / "index.html"
    if marker_kind(folder) != "docs" or index.is_symlink() or not index.is_file():
        return False
    try:
        check_folder(folder, "docs", replace=True)
    except FolderRefused:
        return False
    with index.open(encoding="utf-8", errors="replace") as fh:
        head = fh.readline() + fh.readline()
    return KEY_COMMENT.format(key=key) in head


def build_docs_site(out_dir: str | Path, root: Path | None = None, reuse: str | Path | None = None,
                    links: tuple[tuple[str, str], ...] = ()) -> Path:
    """Render every source page into ``out_dir`` (replaced atomically); return the index path.

    ``reuse``: an earlier build (e.g. the previous report's ``docs/``), copied instead of rendered when it
    was made from the same sources (:func:`docs_key`) and holds only the files studykit listed there.
    ``links``: (title, href relative to the folder holding ``out_dir``) pages of the report shown in every
    page's navigation under "Report" (the report passes its replication scorecard).
    """
    root = root or paths.project_root()
    out_dir = Path(out_dir)
    pages = sources(root)
    if not pages:
        raise ParamError(f"no documentation sources under {root / 'workshop'} or {root / 'docs'}")
    key = docs_key(root)
    if links:
        key = hashlib.sha256((key + repr(tuple(links))).encode()).hexdigest()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if reuse is not None and _built_from(Path(reuse), key):
        with building_dir(out_dir, kind="docs") as tmp:
            shutil.copytree(reuse, tmp, dirs_exist_ok=True, symlinks=True)
        return out_dir / "index.html"
    import mistune

    by_path = {p.path.resolve(): p for p in pages}
    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough", "url"])
    with building_dir(out_dir, kind="docs") as tmp:
        for page in pages:
            depth = len(Path(page.rel).parent.parts)
            up = "../" * depth
            nav, last = [], None
            for p in pages:
                if p.section != last:
                    nav.append(f"<h2>{html.escape(p.section)}</h2>")
                    last = p.section
                cls = ' class="here"' if p is page else ""
                nav.append(f'<a{cls} href="{up}{p.rel}">{html.escape(p.title)}</a>')
            if links:
                nav.append("<h2>Report</h2>")
                nav.extend(f'<a href="{up}../{html.escape(href)}">{html.escape(title)}</a>' for title, href in links)
            text = page.path.read_text(encoding="utf-8")
            body = _rewrite_links(md(text), page, by_path)
            for img in re.findall(r'src="([^":]+\.(?:png|svg|jpg))"', body):
                src = (page.path.parent / img).resolve()
                if src.is_file() and root in src.parents:
                    dest = tmp / Path(page.rel).parent / img
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
            target = tmp / page.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            text = PAGE.format(title=html.escape(page.title), up=up, nav="".join(nav), body=body)
            if page.rel == "index.html":
                text = text.replace("\n", "\n" + KEY_COMMENT.format(key=key) + "\n", 1)
            target.write_text(text, encoding="utf-8")
    return out_dir / "index.html"
