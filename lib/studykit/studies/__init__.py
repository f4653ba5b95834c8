"""The studies: one subpackage each, with the same shape.

``studies/<name>/``
    ``schema.py``    ``Params`` (a :class:`studykit.contract.params.StudyParams`) and the raw-data columns
    ``load.py``      readers and adapters from other formats, with schema checks
    ``simulate.py``  the seeded simulator that writes the embedded data and its truth
    ``analysis.py``  pure functions: DataFrames in, DataFrames or frozen results out
    ``plots.py``     figures from analysis results

Each subpackage's ``__init__`` declares the study once, ``STUDY = Study(...)``
(:class:`studykit.contract.registry.Study`: name, title, ``Params``, simulator, own-data
templates, added commands). The registry (:mod:`studykit.contract.registry`) finds every
subpackage here by itself: adding a study edits no list.
"""
