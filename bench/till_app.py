"""What ``bench/loyalty.py`` adds to the application it serves with gunicorn, and nothing else.

Used only through ``bench/till_settings.py`` (``DJANGO_SETTINGS_MODULE`` of the bench's
gunicorn), never by the product:

* :func:`floor_purchase`, ``POST /bench/floor/purchases``: the honest floor. The same HTTP
  stack (gunicorn, the same workers, Django's middleware, the same API key authentication)
  doing only a purchase's essential durable writes: the idempotency record, the ledger entry
  and the balance, in the fewest round trips possible (one statement with data-modifying
  CTEs, its own transaction), written by hand. No rules, no lock helper, no audit, no
  consequences, no receipt row, no answer worth showing.
* :class:`ServerTiming`: a ``Server-Timing`` header on every answer (wall, CPU of the worker
  thread, time in SQL, time in the statement that takes the card's lock, garbage collection,
  statements executed), so the load process can tell where a slow request spent its time.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cueillette.api import ApiError, ApiKeyAuth
from cueillette.core import tenancy
from cueillette.core.permissions import ApiScope

_auth = ApiKeyAuth()

FLOOR_SQL = """
WITH idem AS (
    INSERT INTO core_idempotencyrecord
        (organization_id, key, scope, request_hash, status_code, response_body, created_at)
    VALUES (%(org)s, %(key)s, 'POST /bench/floor/purchases', %(hash)s, 201, %(body)s, now())
    RETURNING id
), card AS (
    UPDATE loyalty_card SET balance = balance + %(points)s, last_visit_at = now()
    WHERE organization_id = %(org)s AND number = %(number)s AND status = 'open'
    RETURNING id, balance
), entry AS (
    INSERT INTO loyalty_pointsentry
        (organization_id, card_id, kind, points, occurred_at, recorded_at, reason,
         actor_kind, cause)
    SELECT %(org)s, card.id, 'purchase', %(points)s, now(), now(), '', 'api', %(cause)s
    FROM card
    RETURNING id
)
SELECT card.balance, (SELECT count(*) FROM idem) FROM card
"""


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "field": None, "message": message}}, status=status)


@csrf_exempt
def floor_purchase(request: HttpRequest) -> HttpResponse:
    """The floor: key authentication, then one statement (see the module's docstring)."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST only")
    token = tenancy.activate(None)
    try:
        request._cueillette_required_scope = ApiScope.LOYALTY_WRITE.value  # type: ignore[attr-defined]
        # The floor relies on the record's unique index alone: no record looked up with the key.
        request._cueillette_pending = None  # type: ignore[attr-defined]
        try:
            key = _auth(request)
        except ApiError as exc:
            return _error(exc.status, exc.code, str(exc))
        idem = request.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(request.body)
            points = int(Decimal(str(body["amount"])))
            number, receipt = str(body["card_number"]), str(body["receipt_id"])
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _error(400, "invalid", "card_number, amount and receipt_id are required")
        if not idem or points <= 0:
            return _error(400, "invalid", "Idempotency-Key and a positive amount are required")
        answer = json.dumps({"receipt_id": receipt, "points_earned": points})
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    FLOOR_SQL,
                    {
                        "org": key.organization_id,
                        "key": idem,
                        "hash": hashlib.sha256(request.body).hexdigest(),
                        "body": answer,
                        "points": points,
                        "number": number,
                        "cause": f"bench:{receipt}"[:64],
                    },
                )
                row = cursor.fetchone()
        except IntegrityError:
            return _error(409, "idempotency_key_reused", "already recorded")
        if row is None:
            return _error(404, "card_not_found", "no open card with this number")
        return HttpResponse(
            json.dumps({"receipt_id": receipt, "points_earned": points, "balance": row[0]}),
            status=201,
            content_type="application/json",
        )
    finally:
        tenancy.deactivate(token)


# --------------------------------------------------------------------------- Server-Timing

_gc = {"start": 0.0, "total": 0.0}


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc["start"] = time.perf_counter()
    else:
        _gc["total"] += time.perf_counter() - _gc["start"]


gc.callbacks.append(_gc_callback)


class ServerTiming:
    """``Server-Timing: app;dur=…, cpu;dur=…, db;dur=…, lock;dur=…, gc;dur=…, sql;desc=N``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timing = {"db": 0.0, "lock": 0.0, "n": 0}

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent = time.perf_counter() - t0
                timing["db"] += spent
                timing["n"] += 1
                if "FOR UPDATE" in sql:
                    timing["lock"] += spent

        gc_before = _gc["total"]
        cpu0, t0 = time.thread_time(), time.perf_counter()
        with connection.execute_wrapper(wrapper):
            response = self.get_response(request)
        app = (time.perf_counter() - t0) * 1000
        cpu = (time.thread_time() - cpu0) * 1000
        gc_ms = (_gc["total"] - gc_before) * 1000
        response["Server-Timing"] = (
            f"app;dur={app:.3f}, cpu;dur={cpu:.3f}, db;dur={timing['db'] * 1000:.3f}, "
            f"lock;dur={timing['lock'] * 1000:.3f}, gc;dur={gc_ms:.3f}, sql;desc={timing['n']}"
        )
        return response
