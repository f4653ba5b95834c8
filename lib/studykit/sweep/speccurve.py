"""The specification-curve figure (Simonsohn, Simmons & Nelson 2020).

Simonsohn, U., Simmons, J. P. & Nelson, L. D. (2020). Specification curve
analysis. *Nature Human Behaviour* 4, 1208-1214.

Top panel: the headline estimate of every specification with its confidence
interval, sorted from the smallest to the largest estimate, against the value
of no effect (dashed line). Significant estimates are filled (blue above the
null, red below), the others hollow and grey. Bottom panel: the dot matrix of
choices: one row per value of each choice, a dot in the column of every
specification that made that choice, so a run of dots under one end of the
curve shows which choice drives the estimate. The title carries the share of
specifications reaching each conclusion.
"""
from __future__ import annotations

import textwrap
from typing import Any, Mapping, Sequence

COLORS = {"above": "#1f5fa8", "below": "#b2182b", "not significant": "#8c8c8c", "": "#8c8c8c"}


def share_text(counts: Mapping[str, int], names: Mapping[str, str] | None = None) -> str:
    """'4 of 6 (67%) above ...; 2 of 6 (33%) not significant' over the specifications that ran."""
    names = dict(names or {})
    n = sum(counts.values())
    if not n:
        return "no specification produced an estimate"
    parts = []
    for key, k in counts.items():
        if k:
            parts.append(f"{k} of {n} ({100 * k / n:.0f}%) {names.get(key, key)}")
    return "; ".join(parts)


def specification_curve(
    rows: Sequence[Mapping[str, Any]],
    choices: Sequence[str],
    *,
    null: float = 0.0,
    label: str = "estimate",
    conclusion_names: Mapping[str, str] | None = None,
    title: str = "",
):
    """Draw the specification curve of ``rows`` and return the matplotlib figure.

    Parameters
    ----------
    rows
        One mapping per specification with ``estimate`` (float or None: not
        drawn), optional ``ci_low``/``ci_high``, ``conclusion`` (``above``,
        ``below`` or ``not significant``) and one text value per choice.
    choices
        The choice names (the dot matrix's row groups), in display order.
    null
        The value of no effect, drawn as a dashed line.
    label
        The y-axis label of the top panel.
    conclusion_names
        Readable names of the conclusions for the legend and the share line.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    drawn = [r for r in rows if r.get("estimate") is not None]
    drawn.sort(key=lambda r: (r["estimate"], str(r.get("point", ""))))
    n = len(drawn)
    # dot-matrix rows: every value of every choice, in the order the values first appear
    levels: list[tuple[str, str]] = []
    for c in choices:
        seen: list[str] = []
        for r in rows:
            v = str(r.get(c, ""))
            if v not in seen:
                seen.append(v)
        levels += [(c, v) for v in seen]
    # sizes in inches: the dot-matrix labels (7 pt, about 0.06 in a character) set the left margin
    left_in = 0.35 + 0.06 * max([len(f"{c} = {v}") for c, v in levels] + [12])
    plot_in = min(10.0, max(4.5, 1.0 + 0.32 * n))
    width = left_in + plot_in + 0.2
    height = 3.0 + 0.22 * max(1, len(levels))
    fig, (ax, mx) = plt.subplots(2, 1, figsize=(width, height), sharex=True,
                                 gridspec_kw={"height_ratios": [2.6, max(0.6, 0.22 * len(levels))], "hspace": 0.06})
    xs = list(range(n))
    ax.axhline(null, color="0.35", lw=0.8, ls="--", zorder=1)
    for x, r in zip(xs, drawn):
        concl = r.get("conclusion") or ""
        color = COLORS.get(concl, COLORS[""])
        lo, hi = r.get("ci_low"), r.get("ci_high")
        if lo is not None and hi is not None:
            ax.plot([x, x], [lo, hi], color=color, lw=1.2, alpha=0.8, zorder=2)
        filled = concl in ("above", "below")
        ax.plot([x], [r["estimate"]], marker="o", ms=5.5, zorder=3, color=color,
                markerfacecolor=color if filled else "white", markeredgecolor=color)
    names = dict(conclusion_names or {})
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=COLORS[c], markerfacecolor=COLORS[c] if c != "not significant"
                      else "white", label=names.get(c, c)) for c in ("above", "below", "not significant")
               if any((r.get("conclusion") or "") == c for r in drawn)]
    if handles:
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles), fontsize=7,
                  frameon=False, handletextpad=0.3, columnspacing=1.2, borderaxespad=0.1)
    ax.set_ylabel(textwrap.fill(label, 30), fontsize=7)
    ax.tick_params(labelsize=7)
    counts = {c: sum(1 for r in drawn if r.get("conclusion") == c) for c in ("above", "below", "not significant")}
    chars = int(plot_in * 15)  # 8 pt characters per line of the title
    head = "\n".join(textwrap.wrap(title, chars) + textwrap.wrap(share_text(counts, names), chars))
    ax.set_title(head, fontsize=8, loc="left", pad=16)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)

    for y, (c, v) in enumerate(levels):
        on = [x for x, r in zip(xs, drawn) if str(r.get(c, "")) == v]
        off = [x for x in xs if x not in on]
        mx.scatter(off, [y] * len(off), s=6, color="0.85", zorder=1)
        mx.scatter(on, [y] * len(on), s=16, color="0.15", zorder=2)
    bounds = [i for i in range(1, len(levels)) if levels[i][0] != levels[i - 1][0]]
    for b in bounds:
        mx.axhline(b - 0.5, color="0.75", lw=0.6)
    mx.set_yticks(range(len(levels)))
    mx.set_yticklabels([f"{c} = {v}" for c, v in levels], fontsize=7)
    mx.set_ylim(len(levels) - 0.5, -0.5)
    mx.set_xlim(-0.7, max(n, 1) - 0.3)
    mx.set_xticks(xs)
    mx.set_xticklabels([str(x + 1) for x in xs], fontsize=6)
    mx.set_xlabel("specification (sorted by estimate)", fontsize=8)
    for spine in ("top", "right"):
        mx.spines[spine].set_visible(False)
    lines = head.count("\n") + 1
    fig.subplots_adjust(left=left_in / width, right=1 - 0.2 / width, top=1 - (0.45 + 0.14 * lines) / height,
                        bottom=0.55 / height)
    return fig


def save_png(fig, path, dpi: int = 110) -> None:
    """Write ``fig`` as PNG without a timestamp in its metadata (same figure, same bytes) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)


__all__ = ["specification_curve", "share_text", "save_png", "COLORS"]
