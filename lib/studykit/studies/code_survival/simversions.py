"""Versions of code_survival's simulators, part of their inputs' cache keys (:mod:`studykit.runs.simcache`).

Kept apart from :mod:`.simulate` so that ``Params.prepare()`` finds an input generated earlier without
importing the simulator (numpy, pandas): a cached ``studykit run code_survival`` stays light.
"""
#: Version of the simulated line-event table (:func:`.simulate.simulate_line_events`).
SIM_VERSION = "2"
#: Version of the simulated git repositories (:mod:`.reposim`).
REPO_SIM_VERSION = "3"
