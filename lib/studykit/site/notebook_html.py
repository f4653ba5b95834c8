"""An executed notebook as a self-contained HTML page (the report's notebook pages).

nbconvert's ``lab`` template, made to work offline: every script and stylesheet
fetched from a CDN is removed, and formulas in markdown cells (``$...$``,
``$$...$$``, ``\\(...\\)``, ``\\[...\\]``; not inside code) are turned into
MathML by ``latex2mathml``, which browsers render natively.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

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
    from studykit.runs.nbimport import notebook_stack

    with notebook_stack():
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


__all__ = ["notebook_to_html", "offline_html", "latex_to_mathml"]
