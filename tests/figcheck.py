"""Layout checks of matplotlib figures for the figure tests.

A figure is drawn once on its Agg canvas; every visible, non-empty Text artist
(suptitle, figure texts and legends, axes titles, axis labels, offset texts,
the tick labels matplotlib actually draws, annotations, legend texts) is
measured with its tight window extent in display pixels. The helpers return a
list of readable problem descriptions, empty when the figure is fine, so a
test writes ``assert not problems(fig)`` and pytest shows what collided.

- :func:`text_overlaps`: two texts whose extents intersect by more than
  ``tol`` pixels in both directions; a text reaching outside the figure.
- :func:`readable_ticks`: tick labels below ``min_size`` points; an axes with
  x ticks whose labels are all hidden, unless a visible axes directly below it
  (sharing its horizontal span) shows them -- the case of the bottom panel of
  a column in a partly filled grid.
- :func:`legend_covers_data`: a legend whose box holds data points (line
  vertices, markers, polygon vertices) of the axes it belongs to.
- :func:`problems`: all three.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox


def _draw(fig: Figure):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _shown(t: Text | None) -> bool:
    return t is not None and t.get_visible() and bool(t.get_text().strip())


def _drawn_ticklabels(axis) -> Iterator[Text]:
    """The tick labels of ``axis`` that matplotlib draws (ticks inside the view interval)."""
    for tick in axis._update_ticks():  # the ticks Axis.draw renders; labels outside the view are skipped
        if not tick.get_visible():
            continue
        for lab in (tick.label1, tick.label2):
            if _shown(lab):
                yield lab


def _legend_texts(leg) -> Iterator[tuple[str, Text]]:
    if leg is None or not leg.get_visible():
        return
    for t in leg.get_texts():
        if _shown(t):
            yield f"legend '{t.get_text()}'", t
    if _shown(leg.get_title()):
        yield f"legend title '{leg.get_title().get_text()}'", leg.get_title()


def _axes_name(ax, i: int) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_ylabel() or ax.get_label()
    return f"axes {i} ({title.splitlines()[0][:30]!r})" if title else f"axes {i}"


def texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every visible, non-empty text of ``fig`` with a description of where it is."""
    out: list[tuple[str, Text]] = []
    for attr in ("_suptitle", "_supxlabel", "_supylabel"):
        t = getattr(fig, attr, None)
        if _shown(t):
            out.append((f"figure {attr[1:]} '{t.get_text()[:40]}'", t))
    out += [(f"figure text '{t.get_text()[:40]}'", t) for t in fig.texts
            if _shown(t) and all(t is not o for _, o in out)]  # the suptitle is also in fig.texts
    for leg in fig.legends:
        out += [(f"figure {d}", t) for d, t in _legend_texts(leg)]
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        name = _axes_name(ax, i)
        for loc, t in (("title", ax.title), ("left title", ax._left_title), ("right title", ax._right_title)):
            if _shown(t):
                out.append((f"{name} {loc}", t))
        if ax.axison:
            for axis, xy in ((ax.xaxis, "x"), (ax.yaxis, "y")):
                if not axis.get_visible():
                    continue
                if _shown(axis.label):
                    out.append((f"{name} {xy} label '{axis.label.get_text()[:30]}'", axis.label))
                if _shown(axis.offsetText):
                    out.append((f"{name} {xy} offset text", axis.offsetText))
                out += [(f"{name} {xy} tick '{t.get_text()}'", t) for t in _drawn_ticklabels(axis)]
        out += [(f"{name} text '{t.get_text()[:30]}'", t) for t in ax.texts if _shown(t)]
        out += [(f"{name} {d}", t) for d, t in _legend_texts(ax.get_legend())]
    return out


def _extent(t: Text, renderer) -> Bbox:
    return t.get_window_extent(renderer)


def text_overlaps(fig: Figure, tol: float = 2.0, *, draw: bool = True) -> list[str]:
    """Pairs of texts whose tight extents overlap by more than ``tol`` pixels, and texts outside the figure."""
    renderer = _draw(fig) if draw else fig.canvas.get_renderer()
    items = [(d, _extent(t, renderer)) for d, t in texts(fig)]
    items = [(d, b) for d, b in items if b.width > 0 and b.height > 0]
    found = []
    fb = fig.bbox
    for d, b in items:
        if b.x0 < fb.x0 - tol or b.y0 < fb.y0 - tol or b.x1 > fb.x1 + tol or b.y1 > fb.y1 + tol:
            found.append(f"outside the figure: {d}")
    if len(items) > 1:
        box = np.array([[b.x0, b.y0, b.x1, b.y1] for _, b in items])
        for i in range(len(items)):
            w = np.minimum(box[i, 2], box[i + 1:, 2]) - np.maximum(box[i, 0], box[i + 1:, 0])
            h = np.minimum(box[i, 3], box[i + 1:, 3]) - np.maximum(box[i, 1], box[i + 1:, 1])
            for j in np.flatnonzero((w > tol) & (h > tol)):
                found.append(f"overlap: {items[i][0]} <-> {items[i + 1 + j][0]}")
    return found


def readable_ticks(fig: Figure, min_size: float = 5.0, *, draw: bool = True) -> list[str]:
    """Tick labels smaller than ``min_size`` points, and axes whose x tick labels are all hidden while
    no visible axes below them shows x tick labels."""
    if draw:
        _draw(fig)
    found = []
    shows: dict[int, bool] = {}
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison and ax.xaxis.get_visible()]
    for i, ax in enumerate(axes):
        labels = list(_drawn_ticklabels(ax.xaxis))
        shows[i] = bool(labels)
        for axis in (ax.xaxis, ax.yaxis):
            for t in _drawn_ticklabels(axis):
                if t.get_fontsize() < min_size:
                    found.append(f"tick label '{t.get_text()}' of {_axes_name(ax, i)} is {t.get_fontsize():g} pt")
                    break
    for i, ax in enumerate(axes):
        has_ticks = any(tick.get_visible() for tick in ax.xaxis._update_ticks())
        if shows[i] or not has_ticks:
            continue
        p = ax.get_position()
        below = [j for j, other in enumerate(axes) if j != i and other.get_position().y1 <= p.y0 + 1e-9
                 and min(p.x1, other.get_position().x1) - max(p.x0, other.get_position().x0) > 0.5 * p.width]
        if not any(shows[j] for j in below):
            found.append(f"x tick labels hidden and none below: {_axes_name(ax, i)}")
    return found


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data an axes draws: line vertices, markers, polygon vertices."""
    pts = []
    for line in ax.get_lines():
        # reference lines (axhline, axvline) span the axes in axes coordinates and are not data
        if line.get_visible() and len(line.get_xydata()) and line.get_transform() == ax.transData:
            pts.append(line.get_transform().transform(line.get_xydata()))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        offsets = coll.get_offsets()
        if len(offsets) and len(coll.get_paths()) <= 1 and hasattr(coll, "get_sizes") and len(coll.get_sizes()):
            pts.append(coll.get_offset_transform().transform(offsets))  # scatter markers
            continue
        tr = coll.get_transform()
        for path in coll.get_paths():
            if len(path.vertices):
                pts.append(tr.transform(path.vertices))
    for patch in ax.patches:
        if patch.get_visible() and patch.get_data_transform() == ax.transData:
            pts.append(patch.get_transform().transform(patch.get_path().vertices))
    pts = [p for p in pts if len(p)]
    return np.vstack(pts) if pts else np.empty((0, 2))


def legend_covers_data(fig: Figure, tol: float = 1.0, *, draw: bool = True) -> list[str]:
    """Legends inside an axes whose box contains data points of that axes."""
    if draw:
        _draw(fig)
    found = []
    for i, ax in enumerate(fig.axes):
        leg = ax.get_legend()
        if not ax.get_visible() or leg is None or not leg.get_visible():
            continue
        b = leg.get_window_extent().padded(-tol)
        pts = _data_points(ax)
        pts = pts[np.isfinite(pts).all(axis=1)]
        inside = (pts[:, 0] > b.x0) & (pts[:, 0] < b.x1) & (pts[:, 1] > b.y0) & (pts[:, 1] < b.y1)
        if inside.any():
            found.append(f"legend of {_axes_name(ax, i)} covers {int(inside.sum())} data points")
    return found


def problems(fig: Figure) -> list[str]:
    """Everything :func:`text_overlaps`, :func:`readable_ticks` and :func:`legend_covers_data` report."""
    _draw(fig)
    return (text_overlaps(fig, draw=False) + readable_ticks(fig, draw=False)
            + legend_covers_data(fig, draw=False))
