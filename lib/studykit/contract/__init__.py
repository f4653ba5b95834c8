"""The study contract: what a study declares and what its notebook calls.

``registry`` (a study declares itself once), ``params`` and ``profiles`` (validated parameters and named
parameter sets), ``outputs`` and ``exhibits`` (the run folder a notebook writes: ``out.save(step)``),
``issues`` (a data problem and the rule applied), ``names`` (names from data made safe for keys and files),
``extras`` (optional dependencies) and ``errors`` (the one-line error types).
"""
