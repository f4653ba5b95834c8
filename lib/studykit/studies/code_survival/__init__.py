"""Code survival: do lines written by AI coding agents outlive lines written by people?

Reproduces the design of Rahman & Shihab (2026), "Will It Survive? Deciphering
the Fate of AI-Generated Code in Open Source": mine line units from git
histories (:mod:`.mining`), then Kaplan-Meier, log-rank and Cox models of time
to modification, intent profiles of the ending changes and prediction of
modification-prone lines (:mod:`.analysis`).
"""
from studykit.studies.code_survival.schema import NAME, Params
from studykit.studies.code_survival.simulate import write_embedded

__all__ = ["NAME", "Params", "write_embedded"]
