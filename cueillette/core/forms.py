"""One bridge from a service's refusal to a form: each error next to its field."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from django import forms

from cueillette.core.errors import ServiceError


def apply_service_error(
    form: forms.Form,
    err: ServiceError,
    *,
    rename: Mapping[str, str] | Callable[[str], str] | None = None,
    once_per_field: bool = False,
    groups: dict[str, list[str]] | None = None,
) -> None:
    """Put each error of ``err`` (all of ``err.errors``, or the error itself) next to its
    field, or at the top of the form when the field is not one of the form's.

    ``rename`` maps a service field to the form's ("delay_hours" -> "delay"), as a mapping
    or a function (a service's "lines[0].amount" -> the form's row "line_3_amount");
    ``once_per_field`` keeps the form's own error when a field already has one; ``groups``
    collects the errors of fields shown as a group (a fieldset's message list) by name.
    """
    errors: Sequence[Mapping[str, Any]] = err.errors or [
        {"field": err.field, "message": err.message}
    ]
    for item in errors:
        field = item.get("field")
        if field and isinstance(rename, Mapping):
            field = rename.get(str(field), field)
        elif field and rename is not None:
            # A Mapping is not callable; mypy cannot narrow the union by isinstance on it.
            field = cast(Callable[[str], str], rename)(str(field))
        message = str(item.get("message", ""))
        if groups is not None and field in groups:
            groups[str(field)].append(message)
            continue
        name = field if field in form.fields else None
        if once_per_field and name and form.errors.get(name):
            continue
        form.add_error(name, message)
