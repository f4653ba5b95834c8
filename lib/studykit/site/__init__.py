"""The report: ``studykit report``'s static site of every run (``report``, ``reportruns``), the notebooks
as HTML (``notebook_html``), the study docs (``docsite``) and the replication scorecard (``scorecard``)."""
