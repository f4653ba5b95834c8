"""Length limit of names taken from the data (model, persona, prompt and category ids)."""
from __future__ import annotations

import pandas as pd

from studykit.contract.errors import InputError

#: Longest name (model, persona, prompt or category id) accepted; longer ones are refused, since a
#: name becomes a key, a figure label and a table cell (a 100,000-character name is a data error).
MAX_NAME_CHARS = 200


def check_name_length(values: pd.Series, what: str, column: str) -> None:
    """Refuse (InputError naming the column) a name longer than :data:`MAX_NAME_CHARS` characters."""
    lengths = values.astype(str).str.len()
    if len(lengths) and lengths.max() > MAX_NAME_CHARS:
        raise InputError(f"{what}: column '{column}' has a value of {int(lengths.max()):,} characters "
                         f"(at most {MAX_NAME_CHARS}), e.g. {str(values[lengths.idxmax()])[:40]!r}...")
