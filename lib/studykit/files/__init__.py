"""Files and folders: reading user inputs and writing outputs without harming anything else.

``paths`` (project-relative paths), ``folders`` (the one rule for every folder studykit writes: marker,
ownership, atomic replacement), ``fileio`` (atomic writes, ownership checked at the moment of writing),
``locks``, ``gitsafe`` (git on untrusted repositories: no hooks, filters or links followed), ``tables``
(input tables checked against their declared columns), ``tablefmt`` (table writers) and ``floats`` (the one
float rule behind byte-identical outputs).
"""
