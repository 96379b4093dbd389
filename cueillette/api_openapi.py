"""What the OpenAPI schema of ``/api/v1`` says beyond the success answers, in one place.

django-ninja documents each operation's success responses from its ``response=``; the rest of
the contract is the same for every operation and is added here, after the schema is built
(:func:`document`), so that no router has to repeat it and a new route is covered at once:

* every error response (400, 401, 403, 404, 409 on writes, 422, 429) with the one error body
  ``{"error": {"code", "field", "message", "errors"?}}``;
* the rate limit: 429 with ``Retry-After``, and ``X-RateLimit-Limit`` /
  ``X-RateLimit-Remaining`` on the answers of authenticated requests;
* the ``Idempotency-Key`` header on every POST and PATCH.

The fuzz test (``cueillette/tests/test_api_schema_fuzz.py``) holds the API to this schema.
"""

from __future__ import annotations

import copy
from typing import Any

# The same values as cueillette/api.py (which imports this module, hence not imported here).
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200
RATE_WINDOW_SECONDS = 60
RATE_LIMIT_HEADER = "X-RateLimit-Limit"
RATE_REMAINING_HEADER = "X-RateLimit-Remaining"

WRITE_METHODS = frozenset({"post", "patch", "put", "delete"})
IDEMPOTENT_METHODS = frozenset({"post", "patch"})

_ERROR_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["code", "field", "message"],
    "properties": {
        "code": {
            "type": "string",
            "description": "stable, for programs: e.g. required, invalid, not_found, "
            "rate_limited, idempotency_key_reused",
        },
        "field": {
            "type": ["string", "null"],
            "description": "the field (or header, or parameter) at fault, if one is",
        },
        "message": {
            "type": "string",
            "description": "for people, in the language of the key's business",
        },
    },
}

_ERROR_OUT: dict[str, Any] = {
    "type": "object",
    "title": "ErrorOut",
    "description": "The one error body of the API.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "field", "message"],
            "properties": {
                **_ERROR_ITEM["properties"],
                "errors": {
                    "type": "array",
                    "description": "every faulty field when there are several (the first "
                    "one is repeated above)",
                    "items": {"$ref": "#/components/schemas/ErrorItem"},
                },
            },
        }
    },
}

_INT_HEADER = {"schema": {"type": "integer", "minimum": 0}}

_HEADERS: dict[str, Any] = {
    "RetryAfter": {
        "description": "seconds to wait before the key's next request is accepted",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimitLimit": {
        "description": f"requests a key may make per {RATE_WINDOW_SECONDS} seconds",
        **_INT_HEADER,
    },
    "RateLimitRemaining": {
        "description": "requests left to this key in the current window",
        **_INT_HEADER,
    },
    "WWWAuthenticate": {
        "description": 'Bearer realm="api"',
        "required": True,
        "schema": {"type": "string"},
    },
}

_RATE_HEADERS = {
    RATE_LIMIT_HEADER: {"$ref": "#/components/headers/RateLimitLimit"},
    RATE_REMAINING_HEADER: {"$ref": "#/components/headers/RateLimitRemaining"},
}


def _error_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    if headers:
        response["headers"] = headers
    return response


_RESPONSES: dict[str, Any] = {
    "BadRequest": _error_response(
        "Refused by a business rule; `field` names what to correct (e.g. `email is not "
        "valid: missing @`).",
        _RATE_HEADERS,
    ),
    "Unauthorized": _error_response(
        "No key, an unknown key or a revoked key.",
        {"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}},
    ),
    "Forbidden": _error_response(
        "The key may not do this (a read-only key writing, or a permission it lacks).",
        _RATE_HEADERS,
    ),
    "NotFound": _error_response(
        "No such row in the key's business (another business's rows answer the same).",
        _RATE_HEADERS,
    ),
    "Conflict": _error_response(
        "The request contradicts what is recorded: an `Idempotency-Key` already used with "
        "another body, or a receipt already recorded with other details.",
        _RATE_HEADERS,
    ),
    "ValidationFailed": _error_response(
        "The request does not match this schema (a missing field, a wrong type); `errors` "
        "lists every field at fault.",
        _RATE_HEADERS,
    ),
    "RateLimited": _error_response(
        "Too many requests for this key: wait `Retry-After` seconds.",
        {
            "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
            **_RATE_HEADERS,
        },
    ),
}

_IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "A key of your choice (one per intended write, e.g. a UUID). A retry "
    "with the same key and the same body replays the first answer (header "
    "`Idempotent-Replayed: true`) and writes nothing; the same key with another body "
    "answers 409.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX,
    },
}


def _errors_for(method: str) -> dict[str, dict[str, str]]:
    errors = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "422": "ValidationFailed",
        "429": "RateLimited",
    }
    if method in WRITE_METHODS:
        errors["409"] = "Conflict"
    return {status: {"$ref": f"#/components/responses/{name}"} for status, name in errors.items()}


def document(schema: dict[str, Any], *, rate_limit: int) -> dict[str, Any]:
    """The schema with the error responses, the rate limit and ``Idempotency-Key`` declared
    on every operation (a new dict; ``schema`` is not changed)."""
    out = copy.deepcopy(schema)
    components = out.setdefault("components", {})
    components.setdefault("schemas", {}).update(
        {"ErrorItem": copy.deepcopy(_ERROR_ITEM), "ErrorOut": copy.deepcopy(_ERROR_OUT)}
    )
    components.setdefault("headers", {}).update(copy.deepcopy(_HEADERS))
    components.setdefault("responses", {}).update(copy.deepcopy(_RESPONSES))
    for operations in out.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if str(status).startswith("2") and "$ref" not in response:
                    response.setdefault("headers", {}).update(copy.deepcopy(_RATE_HEADERS))
            for status, ref in _errors_for(method).items():
                operation["responses"].setdefault(status, ref)
            if method in IDEMPOTENT_METHODS:
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == IDEMPOTENCY_HEADER for p in params):
                    params.append(copy.deepcopy(_IDEMPOTENCY_PARAMETER))
    info = out.setdefault("info", {})
    info["description"] = (
        info.get("description", "")
        + f"\n\nRate limit: {rate_limit} requests per {RATE_WINDOW_SECONDS} seconds per key; "
        f"every answer says `{RATE_LIMIT_HEADER}` and `{RATE_REMAINING_HEADER}`, a 429 says "
        "`Retry-After` (seconds)."
    ).strip()
    return out
