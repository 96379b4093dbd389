"""What typed inputs share: UNSET, "not given" in a partial update (which differs from empty).

An action's input is one frozen dataclass built by the form and by the API schema (events'
``SessionInput``, messaging's ``CampaignInput``); a field of a partial update defaults to
:data:`UNSET`, so that ``question_en=""`` (clear it) differs from leaving it as it is.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any, Literal


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


UNSET = _Unset.UNSET
#: The type of :data:`UNSET`, for annotations: ``str | Unset``.
Unset = Literal[_Unset.UNSET]


@functools.cache
def _names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def given(change: Any) -> dict[str, Any]:
    """The fields of the dataclass ``change`` that were given (not :data:`UNSET`), by name."""
    out = {}
    # An import calls this per row: the field names are read once per class.
    for name in _names(change.__class__):
        value = getattr(change, name)
        if value is not UNSET:
            out[name] = value
    return out
