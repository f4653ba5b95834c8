import warnings

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _no_runtime_warnings():
    """A numpy RuntimeWarning from studykit.stats is a bug (the issue: no warning spam)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RuntimeWarning, module=r"studykit\..*")
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(20261128)
