"""studykit.stats: effect sizes with CIs, tests, corrections, resampling and design analysis.

Modules (one per statistical family): ``results`` (frozen result types),
``effects``, ``tests``, ``multitest``, ``resampling``, ``design``,
``conclusions``, ``information``.
"""
