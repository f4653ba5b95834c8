"""Static and browser checks of the report site (used by the frame's and the studies' tests).

``static_problems(site)`` parses every HTML page and lists links and images that do
not resolve to a file (or an element id) of the site, and any script, stylesheet or
image fetched from the network. ``browser_problems(site)`` serves the site on
127.0.0.1, opens every page (and SVG image) in Debian's headless chromium through
playwright, and lists console errors, failed requests, images that did not load,
broken links, and any sign that a script from the data ran: a JavaScript dialog
(``alert``) or a ``window.__pwned`` sentinel set (the injection tests' payloads
set it).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urldefrag, urlparse

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(name).is_file():
            return name
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attr, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if "id" in d and d["id"]:
            self.ids.add(d["id"])
        if tag == "a" and d.get("name"):
            self.ids.add(d["name"])
        for attr in ("src", "href"):
            if d.get(attr) is not None:
                self.refs.append((tag, attr, d[attr]))


def _parse(page: Path) -> _Collect:
    c = _Collect()
    c.feed(page.read_text(encoding="utf-8"))
    return c


def static_problems(site: Path) -> list[str]:
    site = Path(site)
    pages = sorted(site.rglob("*.html"))
    parsed = {p: _parse(p) for p in pages}
    problems = []
    for page, c in parsed.items():
        for tag, attr, value in c.refs:
            url = urlparse(value)
            if url.scheme in ("http", "https"):
                if tag != "a":
                    problems.append(f"{page.relative_to(site)}: <{tag} {attr}> fetches from the network: {value}")
                continue
            if url.scheme in ("data", "mailto", "javascript") or value.startswith("//"):
                if value.startswith("//"):
                    problems.append(f"{page.relative_to(site)}: protocol-relative URL {value}")
                continue
            path, frag = urldefrag(value)
            target = page if not path else (page.parent / unquote(path)).resolve()
            if not path and not frag:
                continue
            if not target.exists():
                problems.append(f"{page.relative_to(site)}: broken {attr} {value}")
                continue
            if site.resolve() not in target.resolve().parents and target.resolve() != site.resolve():
                problems.append(f"{page.relative_to(site)}: {attr} leaves the site: {value}")
            if frag and target.suffix == ".html":
                ids = parsed.get(target, None) or _parse(target)
                # browsers match the raw fragment first, then the percent-decoded one (HTML spec)
                if frag not in ids.ids and unquote(frag) not in ids.ids:
                    problems.append(f"{page.relative_to(site)}: anchor #{frag} not found in {target.name}")
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401
        pass


@contextlib.contextmanager
def serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


#: set by the injection tests' payloads if a script from data ever runs
SENTINEL = "__pwned"


def browser_problems(site: Path, chromium: str, max_pages: int = 200,
                     texts: dict[str, str] | None = None) -> tuple[list[str], int]:
    """Open every page and SVG of the site in chromium; return (problems, pages visited).

    When ``texts`` is a dict it receives each page's visible text (``document.body.innerText``),
    keyed by the page's path in the site.
    """
    from playwright.sync_api import sync_playwright

    site = Path(site)
    pages = sorted([*site.rglob("*.html"), *site.rglob("*.svg")])[:max_pages]
    problems: list[str] = []
    with serve(site) as base, tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
        )
        try:
            for page_path in pages:
                rel = page_path.relative_to(site).as_posix()
                page = ctx.new_page()
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("requestfailed", lambda r, errors=errors: errors.append(f"request failed: {r.url}"))
                page.on("response", lambda r, errors=errors: errors.append(f"HTTP {r.status}: {r.url}")
                        if r.status >= 400 else None)
                page.on("dialog", lambda d, errors=errors: (errors.append(f"script opened a {d.type} dialog: "
                                                                         f"{d.message}"), d.dismiss()))
                resp = page.goto(f"{base}/{quote(rel)}", wait_until="load")
                if resp is None or resp.status != 200:
                    problems.append(f"{rel}: page did not load ({resp.status if resp else 'no response'})")
                if page.evaluate(f"() => window.{SENTINEL} !== undefined"):
                    problems.append(f"{rel}: a script from the data ran (window.{SENTINEL} is set)")
                if texts is not None and rel.endswith(".html"):
                    texts[rel] = page.evaluate("() => document.body ? document.body.innerText : ''")
                broken_imgs = page.evaluate(
                    "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                    ".map(i => i.getAttribute('src').slice(0, 80))"
                )
                for src in broken_imgs:
                    problems.append(f"{rel}: image did not load: {src}")
                links = page.evaluate(
                    "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
                    ".filter(h => typeof h === 'string')"
                )
                for href in links:
                    if not href.startswith(base):
                        continue
                    path, frag = urldefrag(href)
                    r = ctx.request.get(path)
                    if r.status != 200:
                        problems.append(f"{rel}: link {href[len(base):]} -> HTTP {r.status}")
                for e in errors:
                    problems.append(f"{rel}: console: {e[:200]}")
                page.close()
        finally:
            ctx.close()
    return problems, len(pages)
