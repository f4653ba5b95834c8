"""The grid file of a sweep: which parameter values to run, and which result is the headline.

A grid file is YAML (``params/<study>/multiverse.yaml`` for the shipped ones)::

    name: multiverse                 # the sweep's folder name (default: the file's stem)
    profile: default                 # the base profile every point starts from
    fixed: {n_perm: 2000}            # set on every point (e.g. fewer resamples for the sweep)
    headline:                        # the result plotted on the specification curve
      label: pooled slope of sycophancy on agreeableness
      estimate: pooled.slope         # result keys of results.json
      ci_low: pooled.slope_ci_low
      ci_high: pooled.slope_ci_high
      p: pooled.slope_p_value        # or  significant: KEY  (a true/false result)
      alpha: alpha                   # a number, or the parameter that holds it (default 0.05)
      no_effect: 0                   # the value of no effect (1 for a ratio)
      above: more agreeable personas are more sycophantic   # the conclusion above the null
      below: more agreeable personas are less sycophantic
    keys: [n_models_significant]     # more result keys shown in the table
    grid:                            # crossed: one point per combination
      correction: [holm, fdr_bh, bonferroni]
      alpha: [0.05, 0.01]
    specifications:                  # and/or named points
      - name: paper_rule
        set: {correction: none}

Every key under ``grid``, ``fixed`` and ``set`` must be a parameter of the
study's ``Params``; values are validated by the runner when the point runs.

Point names are deterministic: a named specification keeps its name; a grid
point is named ``key-value_key-value`` over its parameters in sorted key
order (list items joined by ``.``), passed through :func:`studykit.contract.names.slug`
(so an unusual value gets a short hash instead of an unsafe character), e.g.
``alpha-0.01_correction-holm`` or ``min_count_guard-10_post_years-2023.2024``.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


from studykit.contract.errors import ParamError
from studykit.contract.names import slug
from studykit.contract.params import read_yaml, short_repr

#: the files a sweep writes beside its point folders (no point may be named like one)
SWEEP_FILES = ("sweep.csv", "sweep.json", "speccurve.png", "index.html", "runs.json")
GRID_KEYS = ("name", "study", "profile", "fixed", "headline", "keys", "grid", "specifications", "description")
HEADLINE_KEYS = ("label", "estimate", "ci_low", "ci_high", "p", "significant", "alpha", "no_effect", "above", "below")


@dataclass(frozen=True)
class Headline:
    """Which result keys make the specification curve and how a point's conclusion is read.

    A point's conclusion is ``above`` (estimate above ``no_effect`` and significant),
    ``below`` (below and significant) or ``not significant``. Significance is
    the ``significant`` key when given, else ``p < alpha`` when ``p`` is given,
    else a confidence interval that excludes ``no_effect``; with none of them the
    conclusion is the side of the null the estimate falls on.
    """

    estimate: str
    label: str = ""
    ci_low: str | None = None
    ci_high: str | None = None
    p: str | None = None
    significant: str | None = None
    alpha: float | str = 0.05
    no_effect: float = 0.0
    above: str = "above the null"
    below: str = "below the null"

    def result_keys(self) -> list[str]:
        keys = [self.estimate, self.ci_low, self.ci_high, self.p, self.significant]
        return [k for k in keys if k]


@dataclass(frozen=True)
class Point:
    """One specification: its folder name and the parameters it sets (on top of ``fixed``)."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Grid:
    """A parsed grid file (see the module docstring)."""

    name: str
    source: str
    headline: Headline
    points: tuple[Point, ...]
    choices: tuple[str, ...]
    profile: str = "default"
    fixed: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    study: str | None = None
    description: str = ""

    def overrides(self, point: Point) -> dict[str, Any]:
        """The ``--set`` values of one point: ``fixed`` then the point's own."""
        return {**self.fixed, **point.params}

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise ParamError(f"{self.source}: no point named '{name}' (points: {', '.join(p.name for p in self.points)})")


def value_text(value: Any) -> str:
    """A parameter value as short text: strings as they are, null as ``null``, lists joined by ``+``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "+".join(value_text(v) for v in value) if value else "[]"
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def point_name(params: Mapping[str, Any]) -> str:
    """Deterministic folder name of a grid point: ``key-value`` pairs in key order, slugged."""
    if not params:
        return "base"
    def text(v: Any) -> str:
        return ".".join(value_text(x) for x in v) if isinstance(v, (list, tuple)) and v else value_text(v)

    return slug("_".join(f"{k}-{text(params[k])}" for k in sorted(params)))


def _mapping(data: Any, what: str, source: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ParamError(f"{source}: '{what}' must be a mapping of key: value")
    return dict(data)


def _headline(data: Any, source: str) -> Headline:
    h = _mapping(data, "headline", source)
    unknown = sorted(set(h) - set(HEADLINE_KEYS))
    if unknown:
        raise ParamError(f"{source}: unknown headline key '{unknown[0]}' (known: {', '.join(HEADLINE_KEYS)})")
    if not h.get("estimate"):
        raise ParamError(f"{source}: 'headline' must name the 'estimate' result key")
    if bool(h.get("ci_low")) != bool(h.get("ci_high")):
        raise ParamError(f"{source}: give both 'ci_low' and 'ci_high' of the headline, or neither")
    alpha = h.get("alpha", 0.05)
    if not isinstance(alpha, str) and not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ParamError(f"{source}: headline 'alpha' must be in (0, 1) or the name of a parameter, got "
                         f"{short_repr(alpha)}")
    try:
        no_effect = float(h.get("no_effect", 0.0))
    except (TypeError, ValueError):
        raise ParamError(f"{source}: headline 'no_effect' must be a number, got {short_repr(h.get('no_effect'))}") \
            from None
    text = {k: str(h[k]) for k in ("estimate", "label", "ci_low", "ci_high", "p", "significant", "above", "below")
            if h.get(k) is not None}
    return Headline(alpha=alpha if isinstance(alpha, str) else float(alpha), no_effect=no_effect, **text)


#: the most points a grid file may cross (a sweep of more than 200 asks first; see studykit.sweep)
MAX_GRID_POINTS = 100_000


def _grid_points(grid: Mapping[str, Any], source: str) -> list[Point]:
    size = 1
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ParamError(f"{source}: grid '{key}' must be a non-empty list of values")
        size *= len(values)
    if size > MAX_GRID_POINTS:
        raise ParamError(f"{source}: the grid crosses {size:,} points, more than the {MAX_GRID_POINTS:,} a sweep "
                         "can run; cut the grid")
    keys = list(grid)
    if not keys:
        return []
    points = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo))
        points.append(Point(point_name(params), params))
    return points


def _spec_points(specs: Any, source: str) -> list[Point]:
    if not isinstance(specs, list):
        raise ParamError(f"{source}: 'specifications' must be a list of {{name: ..., set: {{key: value}}}}")
    points = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or set(spec) - {"name", "set"}:
            raise ParamError(f"{source}: specification {i + 1} must be a mapping with 'name' and 'set'")
        params = _mapping(spec.get("set"), f"specifications[{i + 1}].set", source)
        raw = spec.get("name")
        points.append(Point(slug(str(raw)) if raw not in (None, "") else point_name(params), params))
    return points


def parse_grid(data: Any, source: str = "grid", *, param_names: set[str] | None = None) -> Grid:
    """Validate the mapping of a grid file (see the module docstring) into a :class:`Grid`.

    ``param_names`` (the study's ``Params`` fields) makes an unknown parameter
    a one-line :class:`ParamError` naming the grid file, before anything runs.
    """
    data = _mapping(data, "grid file", source)
    unknown = sorted(set(data) - set(GRID_KEYS))
    if unknown:
        raise ParamError(f"{source}: unknown key '{unknown[0]}' (known: {', '.join(GRID_KEYS)})")
    grid = _mapping(data.get("grid"), "grid", source)
    points = _grid_points(grid, source) + _spec_points(data.get("specifications") or [], source)
    if not points:
        raise ParamError(f"{source}: name parameters to cross under 'grid' or a list of 'specifications'")
    seen: dict[str, Point] = {}
    for p in points:
        if p.name in SWEEP_FILES or p.name.endswith(".failed"):
            raise ParamError(f"{source}: a point may not be named '{p.name}' (the sweep's own files are "
                             f"{', '.join(SWEEP_FILES)}, and '<point>.failed' keeps a failed point)")
        if p.name in seen:
            raise ParamError(f"{source}: two points are both named '{p.name}' ({short_repr(seen[p.name].params)} and "
                             f"{short_repr(p.params)})")
        seen[p.name] = p
    fixed = _mapping(data.get("fixed"), "fixed", source)
    choices: list[str] = list(grid)
    for p in points:
        choices += [k for k in p.params if k not in choices]
    if param_names is not None:
        for key in [*choices, *fixed]:
            if key not in param_names:
                raise ParamError(f"{source}: '{key}' is not a parameter of this study")
    keys = data.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ParamError(f"{source}: 'keys' must be a list of result keys")
    headline = _headline(data.get("headline"), source)
    name = str(data.get("name") or Path(source).stem)
    if slug(name) != name:
        raise ParamError(f"{source}: sweep name '{name}' must be a plain folder name (letters, digits, _ . -)")
    profile = str(data.get("profile") or "default")
    return Grid(name=name, source=source, headline=headline, points=tuple(points), choices=tuple(choices),
                profile=profile, fixed=fixed, keys=tuple(k for k in keys if k not in headline.result_keys()),
                study=data.get("study"), description=str(data.get("description") or "").strip())


def load_grid(path: str | Path, *, param_names: set[str] | None = None) -> Grid:
    """Read and validate a grid file; a missing file or bad YAML is a one-line :class:`ParamError`."""
    p = Path(path)
    return parse_grid(read_yaml(p, "grid file"), str(p), param_names=param_names)
