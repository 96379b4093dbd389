"""What typed inputs share: UNSET, "not given" in a partial update (which differs from empty).

An action's input is one frozen dataclass built by the form and by the API schema (events'
``SessionInput``, messaging's ``CampaignInput``); a field of a partial update defaults to
:data:`UNSET`, so that ``question_en=""`` (clear it) differs from leaving it as it is.
"""

from __future__ import annotations

import dataclasses
import enum
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


def given(change: Any) -> dict[str, Any]:
    """The fields of the dataclass ``change`` that were given (not :data:`UNSET`), by name."""
    return {
        f.name: getattr(change, f.name)
        for f in dataclasses.fields(change)
        if getattr(change, f.name) is not UNSET
    }
