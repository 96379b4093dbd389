"""One error type for every business rule: a stable code, the field, a readable message.

Pages show ``message`` next to ``field``; the API answers
``{"error": {"code": ..., "field": ..., "message": ...}}`` with ``status``.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = str(message)
        self.field = field
        if status is not None:
            self.status = status
        # Several field errors at once (a form, an import row).
        self.errors = errors or []

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "field": self.field, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    status = 403
