"""The run machinery behind ``studykit run``, ``check`` and ``doctor``.

``runner`` (one study run from parameters to a finished run folder), ``engine`` (the notebook kernel),
``runfolder`` and ``runsummary`` (the finished folder and the summary printed after it), ``resultsfile``
(the one reader of ``results.json``), ``cachekey`` and ``simcache`` (cached runs and simulated inputs),
``simdata``, ``kernelinfo``, ``nbimport``, ``progress``, ``provenance`` (the manifest), ``workers`` and
``daskutil`` (parallel work), ``check`` (a run against its reference) and ``doctor`` (the environment).
"""
