"""The workshop kit: ``studykit workshop`` (``workshop``, ``cli_workshop``) and the exercise checker
learners call from the exercise notebooks (``exercises.check_answer``)."""
