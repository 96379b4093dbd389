"""The JSON API for tills: ``/api/v1``.

One NinjaAPI with, in one place:

* **key authentication** (``Authorization: Bearer cue_<prefix>_<secret>`` or ``X-Api-Key``):
  the key decides the organization, which becomes the current tenant for the request;
* **permissions**: every operation declares the one permission it needs with
  ``@requires(ApiScope.X)``; a key without it gets a 403 naming it (``forbidden``). Keys hold
  the permissions chosen when they were created (``core.permissions.ApiScope``);
* **a rate limit per key** (fixed one-minute window in Django's cache, 429 + Retry-After);
* **one error format**: ``{"error": {"code": ..., "field": ..., "message": ...}}``;
* **Idempotency-Key** on every POST and PATCH: the same key with the same body replays the
  first answer, with another body answers 409;
* **cursor pagination** (:func:`paginate`) for every list.

Apps add a ``Router`` in their ``api.py`` and list it in :data:`ROUTERS`; the decorators
registered on the API apply to every operation of every router, so new routes get the tenant
reset, the permission check and idempotency without doing anything (but a route without
``@requires`` is refused to every key until it declares its permission).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.security.base import AuthBase

from cueillette import api_openapi
from cueillette.core import rawsql, tenancy, transactions
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import ApiKey, IdempotencyRecord, Organization
from cueillette.core.permissions import ApiScope
from cueillette.core.tokens import hash_token

logger = logging.getLogger(__name__)

KEY_PREFIX = "cue"
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
RATE_WINDOW_SECONDS = 60
RATE_LIMIT_HEADER = "X-RateLimit-Limit"
RATE_REMAINING_HEADER = "X-RateLimit-Remaining"
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

# Routers of the apps, mounted by cueillette/api_urls.py (kept out of this module's imports so
# that an app's api.py can import the helpers below without an import cycle).
ROUTERS: list[tuple[str, str]] = [
    ("/customers", "cueillette.customers.api.router"),
    ("/feedback", "cueillette.feedback.api.router"),
    # Referrals: record (referrer id or code), list, confirm/reject flagged, advocates.
    ("/referrals", "cueillette.referrals.api.router"),
    # The community page: read posts and the log, reply, moderate (no DELETE route).
    ("/community", "cueillette.community.api.router"),
    # Insights: a customer's scores, the segments, the lost-revenue report (read only).
    ("/insights", "cueillette.insights.api.router"),
    # Sessions: offer, list, register a customer, cancel, check in at the door.
    ("/events", "cueillette.events.api.router"),
    # The send gate: campaigns (create, audience and exclusions, send), suppressions.
    ("/messaging", "cueillette.messaging.api.router"),
    # Loyalty routes sit at the root (/purchases, /refunds, /cards...), as tills expect.
    ("", "cueillette.loyalty.api.router"),
]


# --------------------------------------------------------------------------- errors


class ApiError(ServiceError):
    """An error of the API layer itself (authentication, scope, rate limit, cursor...)."""


class RateLimited(ApiError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "rate_limited",
            _("too many requests for this API key: retry in %(n)d seconds") % {"n": retry_after},
        )
        self.retry_after = retry_after


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "field": field, "message": message}}


def error_response(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    return api.create_response(request, error_body(code, message, field), status=status)


def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    response = api.create_response(request, {"error": exc.as_dict()}, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
        response[RATE_LIMIT_HEADER] = str(int(settings.API_RATE_LIMIT))
        response[RATE_REMAINING_HEADER] = "0"
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


# The member of a union pydantic names in an error's location ("amount", "str"): not a field.
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict", "decimal"})


def _validation_field(loc: Sequence[Any]) -> str | None:
    """``("body", "payload", "email")`` -> ``"email"``; ``("query", "limit")`` -> ``"limit"``."""
    parts = [str(p) for p in loc if not (str(p) in _UNION_TAGS or "[" in str(p))]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source, parts = parts[0], parts[1:]
        # A body schema is one parameter (named "payload" by convention): drop its name.
        if source == "body" and len(parts) > 1:
            parts = parts[1:]
    return ".".join(parts) or None


def _validation_message(field: str | None, kind: str, err: dict[str, Any]) -> str:
    """A pydantic error worded in the active language (the key's business's): pydantic's own
    messages are English only."""
    name = field or _("the request body")
    ctx = err.get("ctx") or {}
    words: dict[str, str] = {
        "missing": _("%(field)s is required"),
        "int_parsing": _("%(field)s must be a whole number"),
        "int_type": _("%(field)s must be a whole number"),
        "int_from_float": _("%(field)s must be a whole number"),
        "float_parsing": _("%(field)s must be a number"),
        "float_type": _("%(field)s must be a number"),
        "decimal_parsing": _("%(field)s must be a number"),
        "decimal_type": _("%(field)s must be a number"),
        "bool_parsing": _("%(field)s must be true or false"),
        "bool_type": _("%(field)s must be true or false"),
        "string_type": _("%(field)s must be text"),
        "list_type": _("%(field)s must be a list"),
        "dict_type": _("%(field)s must be an object"),
        "model_type": _("%(field)s must be an object"),
        "model_attributes_type": _("%(field)s must be an object"),
        "json_invalid": _("the request body is not valid JSON"),
        "date_parsing": _("%(field)s must be a date (YYYY-MM-DD)"),
        "date_from_datetime_parsing": _("%(field)s must be a date (YYYY-MM-DD)"),
        "datetime_parsing": _("%(field)s must be a date and time (ISO 8601)"),
        "datetime_from_date_parsing": _("%(field)s must be a date and time (ISO 8601)"),
        "uuid_parsing": _("%(field)s must be a UUID"),
        "enum": _("%(field)s must be one of: %(expected)s"),
        "literal_error": _("%(field)s must be one of: %(expected)s"),
        "string_too_long": _("%(field)s is too long: %(max_length)s characters at most"),
        "string_too_short": _("%(field)s is too short: %(min_length)s characters at least"),
        "too_long": _("%(field)s has too many items: %(max_length)s at most"),
        "too_short": _("%(field)s has too few items: %(min_length)s at least"),
        "greater_than": _("%(field)s must be greater than %(gt)s"),
        "greater_than_equal": _("%(field)s must be at least %(ge)s"),
        "less_than": _("%(field)s must be less than %(lt)s"),
        "less_than_equal": _("%(field)s must be at most %(le)s"),
        "string_pattern_mismatch": _("%(field)s is not in the expected format"),
    }
    template = words.get(kind)
    values: dict[str, Any] = {"field": name, **{k: str(v) for k, v in ctx.items()}}
    if template is not None:
        try:
            return template % values
        except (KeyError, TypeError, ValueError):
            pass
    return _("%(field)s is not valid") % {"field": name}


def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    for err in exc.errors:
        field = _validation_field(err.get("loc", ()))
        kind = str(err.get("type", ""))
        code = "required" if kind == "missing" else "invalid"
        message = _validation_message(field, kind, err)
        same = next((e for e in errors if e["field"] == field and field), None)
        if same is not None:
            # A union (text or number) fails once per member: one error for the field.
            same["message"] = _("%(field)s is not valid") % {"field": field}
            continue
        errors.append({"code": code, "field": field, "message": message})
    first = errors[0] if errors else {"code": "invalid", "field": None, "message": "invalid"}
    body = {"error": {**first, "errors": errors}}
    return api.create_response(request, body, status=422)


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, "not_found", _("not found"))


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = _HTTP_CODES.get(exc.status_code, "error")
    response = error_response(request, exc.status_code, code, str(exc))
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, "server_error", _("unexpected error; it has been logged"))


# --------------------------------------------------------------------------- authentication


def _raw_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Api-Key", "").strip()


@functools.cache
def _key_sql(with_record: bool) -> str:
    r = rawsql  # identifiers of the models' metadata only; values are parameters
    sql = (
        f"SELECT {r.select_list(ApiKey, 'k')}, {r.select_list(Organization, 'o')}"  # noqa: S608
        + (f", {r.select_list(IdempotencyRecord, 'i')}" if with_record else "")
        + f" FROM {r.table(ApiKey)} k JOIN {r.table(Organization)} o"
        f" ON o.{r.q('id')} = k.{r.q('organization_id')}"
    )
    if with_record:
        sql += (
            f" LEFT JOIN {r.table(IdempotencyRecord)} i"
            f" ON i.{r.q('organization_id')} = k.{r.q('organization_id')}"
            f" AND i.{r.q('scope')} = %s AND i.{r.q('key')} = %s"
        )
    return sql + f" WHERE k.{r.q('prefix')} = %s"


def authenticate_key(
    raw: str, idempotency: tuple[str, str] | None = None
) -> tuple[ApiKey, IdempotencyRecord | None]:
    """The active key matching ``raw`` (any organization), or a 401 ApiError.

    With ``idempotency`` (scope, key), the same statement brings that key's record in the
    key's organization, if any (a write asks for it anyway: one round trip for both)."""
    invalid = ApiError("unauthorized", _("this API key is not valid"), status=401)
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise invalid
    # A key is looked up before any organization is known: the key decides the organization,
    # so this is the one place where API keys are read across organizations.
    params = [*idempotency, parts[1]] if idempotency else [parts[1]]
    with connection.cursor() as cursor:
        cursor.execute(_key_sql(idempotency is not None), params)
        row = cursor.fetchone()
    key = record = None
    if row is not None:
        k, o = rawsql.width(ApiKey), rawsql.width(Organization)
        key = rawsql.instance(ApiKey, row[:k])
        key.organization = rawsql.instance(Organization, row[k : k + o])
        if idempotency is not None and row[k + o] is not None:
            record = rawsql.instance(IdempotencyRecord, row[k + o :])
    expected = key.hashed_key if key is not None else hash_token("no such key")
    if not hmac.compare_digest(hash_token(raw), expected) or key is None:
        raise invalid
    if key.revoked_at is not None:
        raise ApiError("unauthorized", _("this API key has been revoked"), status=401)
    return key, record


def check_rate_limit(key: ApiKey) -> int:
    """Fixed one-minute window per key, counted in the cache (shared by every worker).

    Returns the requests left in the window (for ``X-RateLimit-Remaining``)."""
    limit = int(settings.API_RATE_LIMIT)
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    cache_key = f"cueillette:api-rate:{key.pk}:{window}"
    cache.add(cache_key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        count = 1
    if count > limit:
        retry_after = max(1, math.ceil(RATE_WINDOW_SECONDS - now % RATE_WINDOW_SECONDS))
        raise RateLimited(retry_after)
    return max(0, limit - int(count))


def _touch(key: ApiKey) -> None:
    """Note the key's last use, at most once a minute (not a write per request)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class ApiKeyAuth(AuthBase):
    """``Authorization: Bearer <key>`` (or ``X-Api-Key: <key>``) -> the key's organization."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> ApiKey:
        raw = _raw_key(request)
        if not raw:
            raise ApiError(
                "unauthorized",
                _("an API key is required: send the header Authorization: Bearer <key>"),
                status=401,
            )
        pending = _idempotency_of(request)
        key, record = authenticate_key(raw, (pending.scope, pending.key) if pending else None)
        if pending is not None:
            request._cueillette_idem_prefetch = (pending, record)  # type: ignore[attr-defined]
        # Reset by _operation_wrapper when the operation ends.
        tenancy.activate(key.organization)
        speak_for(key)
        request.api_key = key  # type: ignore[attr-defined]
        request._cueillette_rate_remaining = check_rate_limit(key)  # type: ignore[attr-defined]
        # The one place where a route's permission is checked, before the body is read.
        scope = getattr(request, "_cueillette_required_scope", None)
        if scope is None:  # a route without @requires is nobody's until it says whose
            raise ApiError("forbidden", _("this route declares no permission"), status=403)
        if not key.has_scope(scope):
            raise ApiError(
                "forbidden",
                _("this key lacks the permission %(scope)s") % {"scope": scope},
                status=403,
            )
        _touch(key)
        return key


def speak_for(key: ApiKey) -> None:
    """Error messages in the language of the key's business (reset by operation_wrapper)."""
    language = key.organization.language
    translation.activate(language if language in ("fr", "en") else settings.LANGUAGE_CODE)


def _rate_headers(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    remaining = getattr(request, "_cueillette_rate_remaining", None)
    if remaining is not None and RATE_LIMIT_HEADER not in response:
        response[RATE_LIMIT_HEADER] = str(int(settings.API_RATE_LIMIT))
        response[RATE_REMAINING_HEADER] = str(remaining)
    return response


def api_key(request: HttpRequest) -> ApiKey:
    """The authenticated key of the request."""
    key = request.auth  # type: ignore[attr-defined]
    assert isinstance(key, ApiKey)
    return key


def api_actor(request: HttpRequest) -> Actor:
    """The request's key as the actor of a service call, carrying the key's permissions."""
    key = api_key(request)
    return Actor.api(key.name, key.scopes)


# --------------------------------------------------------------------------- permissions

F = TypeVar("F", bound=Callable[..., Any])
SCOPE_ATTR = "_cueillette_scope"


def requires(scope: ApiScope) -> Callable[[F], F]:
    """Declare the permission an operation needs; put it under ``@router.get(...)``.

    :func:`ApiKeyAuth` checks it for every request; the OpenAPI schema states it
    (``x-required-permission`` and the description). An operation without it is refused to
    every key, and the permission sweep (tests/test_permissions.py) names it.
    """

    def mark(func: F) -> F:
        setattr(func, SCOPE_ATTR, ApiScope(scope).value)
        return func

    return mark


def scope_marker(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """View decorator registered first, so it receives the bound ``Operation.run``: it reads
    the operation's ``@requires`` once and hands it to the authentication of each request.

    An operation without one is refused to every key (deny by default) and the permission
    sweep names it; the schema says so too.
    """
    operation = getattr(run, "__self__", None)
    if operation is None:
        raise ImproperlyConfigured("scope_marker must be the API's first view decorator")
    scope = getattr(operation.view_func, SCOPE_ATTR, None)
    extra = dict(operation.openapi_extra or {})
    extra["x-required-permission"] = scope
    operation.openapi_extra = extra
    note = (
        f"Requires the API key permission `{scope}`."
        if scope
        else "Declares no permission yet (`@requires`): refused to every key."
    )
    description = operation.description or ""
    if note not in description:
        operation.description = f"{description}\n\n{note}" if description else note

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        request._cueillette_required_scope = scope  # type: ignore[attr-defined]
        return run(request, *args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- idempotency


@dataclass(frozen=True)
class _Pending:
    key: str
    scope: str
    request_hash: str


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


def request_hash(request: HttpRequest) -> str:
    """SHA-256 of the canonical body (JSON with sorted keys) and the query string."""
    try:
        body = json.loads(request.body or b"null")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        payload = canonical.encode("utf-8")
    except (ValueError, UnicodeDecodeError):
        payload = request.body
    query = request.META.get("QUERY_STRING", "").encode("utf-8")
    return hashlib.sha256(payload + b"\n" + query).hexdigest()


@functools.cache
def _find_record_sql() -> str:
    r = rawsql
    return (
        f"SELECT {r.select_list(IdempotencyRecord, 'i')} FROM {r.table(IdempotencyRecord)} i "  # noqa: S608
        f"WHERE i.{r.q('organization_id')} = %s AND i.{r.q('scope')} = %s AND i.{r.q('key')} = %s"
    )


def _find_record(scope: str, key: str) -> IdempotencyRecord | None:
    """The organization's record of this key (every write asks: one typed statement, no
    queryset built per request; the unique (organization, scope, key) index answers)."""
    with connection.cursor() as cursor:
        cursor.execute(_find_record_sql(), [tenancy.current_org().pk, scope, key])
        row = cursor.fetchone()
    return None if row is None else rawsql.instance(IdempotencyRecord, row)


def _replay(request: HttpRequest, record: IdempotencyRecord, wanted_hash: str) -> HttpResponse:
    if not hmac.compare_digest(record.request_hash, wanted_hash):
        return error_response(
            request,
            409,
            "idempotency_key_reused",
            _("this Idempotency-Key was already used with another request body"),
            field=IDEMPOTENCY_HEADER,
        )
    response = HttpResponse(
        record.response_body,
        status=record.status_code,
        content_type="application/json; charset=utf-8",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _pending_idempotency(request: HttpRequest) -> _Pending | None:
    return getattr(request, "_cueillette_idempotency", None)


def idempotency_check(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Operation decorator (after authentication): replay or refuse a known Idempotency-Key.

    Registered on the whole API; the write itself is made atomic with the record of its
    answer by :func:`operation_wrapper`.
    """

    @functools.wraps(view_func)
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if request.method in IDEMPOTENT_METHODS and key:
            if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
                raise ApiError(
                    "invalid_idempotency_key",
                    _("Idempotency-Key must be at most %(n)d printable characters")
                    % {"n": IDEMPOTENCY_KEY_MAX},
                    field=IDEMPOTENCY_HEADER,
                )
            pending = _idempotency_of(request)
            assert pending is not None
            record = _first_lookup(request, pending)
            if record is not None:
                request._cueillette_idempotency_hash = pending.request_hash  # type: ignore[attr-defined]
                raise _Replay(record)
            request._cueillette_idempotency = pending  # type: ignore[attr-defined]
        return view_func(request, *args, **kwargs)

    return inner


def _idempotency_of(request: HttpRequest) -> _Pending | None:
    """The request's Idempotency-Key as a pending record (a valid key on a write), else None."""
    cached: _Pending | bool | None = getattr(request, "_cueillette_pending", False)
    if cached is not False:
        return cached if isinstance(cached, _Pending) else None
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    pending = None
    if (
        request.method in IDEMPOTENT_METHODS
        and key
        and len(key) <= IDEMPOTENCY_KEY_MAX
        and key.isprintable()
    ):
        pending = _Pending(key, f"{request.method} {request.path}"[:200], request_hash(request))
    request._cueillette_pending = pending  # type: ignore[attr-defined]
    return pending


def _first_lookup(request: HttpRequest, pending: _Pending) -> IdempotencyRecord | None:
    """The key's record as the authentication's statement brought it, else read now."""
    prefetched: tuple[_Pending, IdempotencyRecord | None] | None = getattr(
        request, "_cueillette_idem_prefetch", None
    )
    if prefetched is not None and prefetched[0] == pending:
        return prefetched[1]
    return _find_record(pending.scope, pending.key)


def _replay_handler(request: HttpRequest, exc: _Replay) -> HttpResponse:
    wanted = getattr(request, "_cueillette_idempotency_hash", "")
    return _replay(request, exc.record, wanted)


def _run_idempotent(
    run: Callable[..., HttpResponseBase], request: HttpRequest, args: Any, kwargs: Any
) -> HttpResponseBase:
    # The write and the record of its answer commit together or not at all. Two concurrent
    # requests with the same key may both run; the unique (organization, scope, key) lets only
    # one commit, the other rolls back everything it did and replays the winner's answer.
    try:
        with transactions.all_or_nothing():  # the write's action needs no savepoint
            response = run(request, *args, **kwargs)
            pending = _pending_idempotency(request)
            if pending is None:
                return response
            if 200 <= response.status_code < 300 and isinstance(response, HttpResponse):
                # No savepoint of its own: a duplicate key leaves the whole block (IntegrityError
                # below), which rolls back everything anyway.
                rawsql.insert_rows(
                    IdempotencyRecord,
                    [
                        {
                            "organization_id": tenancy.current_org().pk,
                            "key": pending.key,
                            "scope": pending.scope,
                            "request_hash": pending.request_hash,
                            "status_code": response.status_code,
                            "response_body": response.content.decode("utf-8"),
                        }
                    ],
                )
            else:
                # Errors are not recorded (a corrected retry may reuse the key) and nothing
                # the failed request did is kept.
                transaction.set_rollback(True)
            return response
    except IntegrityError:
        pending = _pending_idempotency(request)
        record = _find_record(pending.scope, pending.key) if pending is not None else None
        if pending is None or record is None:
            raise
        return _replay(request, record, pending.request_hash)


def operation_wrapper(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """View decorator around every operation (authentication included).

    The organization comes from the key only: the session's organization (a logged-in staff
    browser) is cleared first, and whatever the authentication activated is reset at the end.
    """

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        token = tenancy.activate(None)
        language = translation.get_language()
        try:
            if request.method in IDEMPOTENT_METHODS and request.headers.get(IDEMPOTENCY_HEADER):
                return _rate_headers(request, _run_idempotent(run, request, args, kwargs))
            return _rate_headers(request, run(request, *args, **kwargs))
        finally:
            tenancy.deactivate(token)
            translation.activate(language)

    return wrapper


# --------------------------------------------------------------------------- pagination

M = TypeVar("M", bound=models.Model)


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for v in values],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, model: type[models.Model], order: Sequence[str]) -> list[Any]:
    bad = ApiError(
        "invalid_cursor", _("cursor is not valid: start again without it"), field="cursor"
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise bad from exc
    if not isinstance(values, list) or len(values) != len(order):
        raise bad
    out = []
    for name, value in zip(order, values, strict=True):
        field = model._meta.get_field(name.lstrip("-").replace("pk", "id"))
        try:
            out.append(field.to_python(value))  # type: ignore[union-attr]  # concrete fields
        except Exception as exc:
            raise bad from exc
    return out


def _after(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in the ``order`` (keyset pagination)."""
    cond = Q()
    for i, name in enumerate(order):
        field = name.lstrip("-")
        op = "lt" if name.startswith("-") else "gt"
        step = Q(**{f"{field}__{op}": values[i]})
        for prev, value in zip(order[:i], values[:i], strict=True):
            step &= Q(**{prev.lstrip("-"): value})
        cond |= step
    return cond


def paginate(
    qs: models.QuerySet[M],
    *,
    cursor: str | None,
    limit: int = DEFAULT_PAGE_SIZE,
    order: Sequence[str] = ("id",),
) -> tuple[list[M], str | None]:
    """One page of ``qs`` in ``order`` (ending with a unique field) after an opaque cursor.

    Returns the rows and the cursor of the next page (None on the last page). Rows inserted
    while a client walks the pages never make it see a row twice.
    """
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    if cursor:
        qs = qs.filter(_after(order, _decode_cursor(cursor, qs.model, order)))
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        next_cursor = _encode_cursor([getattr(rows[-1], name.lstrip("-")) for name in order])
    return rows, next_cursor


# --------------------------------------------------------------------------- docs


class LocalSwagger(DocsBase):
    """Swagger UI from our own static files, with no inline script (CSP ``script-src 'self'``)."""

    template = "apikeys/swagger.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        context = {
            "api": api,
            "openapi_url": reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs),
        }
        return render(request, self.template, context)


_ERROR_RESPONSES = (
    ("400", "BadRequest"),
    ("401", "Unauthorized"),
    ("403", "Forbidden"),
    ("404", "NotFound"),
    ("409", "Conflict"),
    ("422", "ValidationFailed"),
    ("429", "RateLimited"),
)


class ApiReference(LocalSwagger):
    """``/api/v1/docs``: the reference rendered on the server from the schema (light and
    accessible, see cueillette/api_reference.py); ``?ui=swagger`` opens Swagger UI."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        if request.GET.get("ui") == "swagger":
            return super().render_page(request, api, **kwargs)
        from cueillette import api_reference

        openapi_url = reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs)
        schema = api.get_openapi_schema(path_prefix=openapi_url.rsplit("openapi.json", 1)[0])
        responses = schema.get("components", {}).get("responses", {})
        errors = [
            {
                "status": status,
                "description": responses[name]["description"],
                "headers": sorted(responses[name].get("headers", {})),
            }
            for status, name in _ERROR_RESPONSES
            if name in responses
        ]
        ref = api_reference.build(schema)
        context = {
            "ref": ref,
            "intro": [p for p in ref["description"].split("\n\n") if p.strip()],
            "errors": errors,
            "openapi_url": openapi_url,
        }
        return render(request, "apikeys/api_reference.html", context)


# --------------------------------------------------------------------------- the API


class CueilletteAPI(NinjaAPI):
    """The NinjaAPI whose schema also declares what every operation shares (errors, rate
    limit, Idempotency-Key): see cueillette/api_openapi.py."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        # Building the schema walks every operation (~0.2 s): once per process and settings,
        # since the routers are all mounted at import. Callers get their own copy.
        key = json.dumps([args, kwargs, int(settings.API_RATE_LIMIT)], sort_keys=True, default=str)
        cached = self._cueillette_schemas.get(key)
        if cached is None:
            schema = super().get_openapi_schema(*args, **kwargs)
            cached = api_openapi.document(dict(schema), rate_limit=int(settings.API_RATE_LIMIT))
            self._cueillette_schemas[key] = cached
        return copy.deepcopy(cached)

    @functools.cached_property
    def _cueillette_schemas(self) -> dict[str, dict[str, Any]]:
        return {}


api = CueilletteAPI(
    title="Cueillette API",
    version="1",
    description=(
        "Connect a till. Authenticate with `Authorization: Bearer <key>` (keys are created by "
        "an owner or a manager under Settings, API keys). Errors are "
        '`{"error": {"code", "field", "message"}}`. Every POST and PATCH accepts an '
        "`Idempotency-Key` header. Lists are paginated with `limit` and an opaque `cursor`."
    ),
    urls_namespace="api",
    auth=ApiKeyAuth(),
    docs=ApiReference(),
)
# Registered through the decorator form: its typing accepts handlers of a subclass.
for _exc, _handler in (
    (ServiceError, _service_error),
    (NinjaValidationError, _validation_error),
    (Http404, _not_found),
    (HttpError, _http_error),
    (_Replay, _replay_handler),
    (Exception, _server_error),
):
    api.exception_handler(_exc)(_handler)
# scope_marker first: it must receive the operation's own bound run method.
api.add_decorator(scope_marker, mode="view")
api.add_decorator(operation_wrapper, mode="view")
api.add_decorator(idempotency_check, mode="operation")


def mount_routers() -> None:
    """Add every app's router (called once, by cueillette/api_urls.py)."""
    if getattr(api, "_cueillette_mounted", False):
        return
    for prefix, path in ROUTERS:
        api.add_router(prefix, path)
    api._cueillette_mounted = True  # type: ignore[attr-defined]
