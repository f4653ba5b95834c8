"""The HTML page of one sweep (``<sweep>/index.html``): conclusion shares, the curve, the table.

Every string taken from the grid file, the parameters or the results is
passed through :func:`html.escape`. The page is self-contained (inline style)
and links each point's executed notebook, or the kept partial run of a failed
point, by a path relative to the page.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping, Sequence

from studykit.sweep.speccurve import share_text
from studykit.sweep.grid import Grid
from studykit.sweep.table import cell_text, columns

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.8rem}th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left}
th{background:#f3f3f3}tr.failed td{background:#fdecea}td.num{text-align:right;font-variant-numeric:tabular-nums}
.small{color:#555;font-size:.85rem}img{max-width:100%;border:1px solid #eee}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _cell(row: Mapping[str, Any], col: str) -> str:
    v = row.get(col)
    text = cell_text(v)
    if col == "point":
        folder = f"{v}.failed/notebook.ipynb" if row.get("status") == "failed" else f"{v}/notebook.ipynb"
        return f'<td><a href="{_e(folder)}">{_e(text)}</a></td>'
    cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
    return f"<td{cls}>{_e(text)}</td>"


def render_page(study: str, grid: Grid, rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any],
                figure: str | None) -> str:
    """The page's HTML text (deterministic: no timings, no absolute paths)."""
    head = grid.headline
    names = {"above": head.above, "below": head.below}
    cols = columns(grid)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(study)}: sweep {_e(grid.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(study)}: sweep <code>{_e(grid.name)}</code></h1>",
    ]
    if grid.description:
        parts.append(f"<p>{_e(grid.description)}</p>")
    parts.append(
        f'<p class="small">{summary["n_points"]} specifications from <code>{_e(grid.source)}</code> on profile '
        f"<code>{_e(grid.profile)}</code>"
        + (f" with {_e(', '.join(f'{k}={cell_text(v)}' for k, v in grid.fixed.items()))} on every point"
           if grid.fixed else "")
        + f"; {summary['n_failed']} failed.</p>")
    parts.append("<h2>Conclusions</h2>")
    parts.append(f"<p>Headline: <b>{_e(head.label or head.estimate)}</b> (<code>{_e(head.estimate)}</code>; "
                 f"no effect at {_e(cell_text(head.no_effect))}).</p>")
    parts.append(f"<p>{_e(share_text(summary['counts'], names))}.</p>")
    if figure:
        parts.append("<h2>Specification curve</h2>")
        parts.append(f'<p><img src="{_e(figure)}" alt="specification curve of {_e(head.estimate)}"></p>')
        parts.append('<p class="small">Estimates sorted with their confidence intervals; filled markers are '
                     "significant. Below, a dot marks the choices each specification made (Simonsohn, Simmons "
                     "&amp; Nelson 2020).</p>")
    parts.append("<h2>Table</h2>")
    parts.append('<p class="small">Also as <a href="sweep.csv">sweep.csv</a>; each point links to its executed '
                 "notebook.</p>")
    parts.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr></thead><tbody>")
    for row in rows:
        cls = ' class="failed"' if row.get("status") == "failed" else ""
        parts.append(f"<tr{cls}>" + "".join(_cell(row, c) for c in cols) + "</tr>")
    parts.append("</tbody></table></body></html>")
    return "\n".join(parts) + "\n"


def sweep_pages(outputs_root: str | Path) -> list[tuple[str, str, str]]:
    """Every sweep page under ``outputs_root``: ``(study, sweep name, path relative to outputs_root)``."""
    root = Path(outputs_root)
    out = []
    for page in sorted(root.glob("*/sweeps/*/index.html")):
        if (page.parent / "sweep.json").is_file():
            out.append((page.parent.parent.parent.name, page.parent.name, page.relative_to(root).as_posix()))
    return out


__all__ = ["render_page", "sweep_pages"]
