"""One registry of what actions cause: every write fires its consequences here, once.

An action in ``services.py`` calls :func:`fire` inside its transaction after its rows and audit
row are written. Apps that react subscribe once, in ``AppConfig.ready()``:

* ``phase=IN_TRANSACTION`` handlers run at once, inside the action's transaction: a failure rolls
  the whole action back, so nothing half-writes (loyalty closing a card when its consent is
  withdrawn, referral rewards on a purchase).
* ``phase=AFTER_COMMIT`` handlers run after the transaction commits (``on_commit``, robust: one
  failing subscriber does not stop the others): messages through the send gate, webhooks,
  anything that talks to the outside world. A rolled-back action fires nothing.

Every entry point (page, API, customer space, import, task) reaches the same action, so a
subscriber hears them all. Core imports no domain app: names are plain strings, payloads are
keyword arguments (model instances and plain values) documented next to each name below.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


class Consequence(StrEnum):
    """What an action can cause. Payload keys in the comment; ``organization_id`` always, and
    ``actor`` (the ``core.audit.Actor`` who acted) for every action that has one."""

    ORGANIZATION_CREATED = "organization.created"  # organization (the current tenant), owner
    # customer, source (join page, counter, import, api...), referrer (Customer or None; who
    # sent them, said at the counter: referrals records the referral in the transaction)
    CUSTOMER_JOINED = "customer.joined"
    CUSTOMER_UPDATED = "customer.updated"  # customer, fields (names of the changed fields)
    CUSTOMER_MERGED = "customer.merged"  # survivor, other
    # customer_id, customer (already blanked), reason, former_names (first, last: in memory, for
    # taking the name out of others' texts); once per record erased (merged ones too)
    CUSTOMER_ERASED = "customer.erased"
    # customer, purpose, granted, event (ConsentEvent), source; once per ledger entry appended
    # (a pending double opt-in grant fires when it is confirmed; a merge's copies fire nothing)
    CONSENT_CHANGED = "consent.changed"
    PURCHASE_RECORDED = "purchase.recorded"  # purchase, card (None when anonymous), points
    PURCHASE_REFUNDED = "purchase.refunded"  # refund, purchase, card
    REWARD_REDEEMED = "reward.redeemed"  # redemption, card, reward
    REWARD_AVAILABLE = "reward.available"  # card, reward (the balance now reaches it)
    POINTS_EXPIRING = "points.expiring"  # card, points, expires_at
    POST_PUBLISHED = "community.post_published"  # post
    REPLY_PUBLISHED = "community.reply_published"  # post, reply
    POST_HIDDEN = "community.post_hidden"  # post, event
    REFERRAL_RECORDED = "referral.recorded"  # referral
    REFERRAL_CONFIRMED = "referral.confirmed"  # referral
    SURVEY_ANSWERED = "feedback.survey_answered"  # survey
    REGISTRATION_MADE = "events.registration_made"  # registration
    REGISTRATION_CANCELLED = "events.registration_cancelled"  # registration
    ATTENDANCE_RECORDED = "events.attendance_recorded"  # registration
    # channel ("email"), address, reason ("cleaned_import", "hard_bounce", "complaint"),
    # detail: an address found dead or refused outside the send gate (an import's cleaned rows);
    # messaging adds it to the one suppression list the gate reads, in the transaction
    ADDRESS_SUPPRESSED = "address.suppressed"


class Phase(StrEnum):
    IN_TRANSACTION = "in_transaction"
    AFTER_COMMIT = "after_commit"


@dataclass(frozen=True)
class Fired:
    """One consequence as subscribers receive it; ``id`` is stable (webhook event ids)."""

    name: str
    organization_id: int | None
    payload: Mapping[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = field(default_factory=timezone.now)

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)


class LazyPayload(Mapping[str, Any]):
    """A payload whose costly values (model instances) are made when a subscriber first reads
    them: an import fires once per row, and most subscribers only look at plain values (the
    purpose, the source) or nothing at all (webhooks without endpoints). ``lazy`` maps a key
    to a function of no argument; its result is kept."""

    __slots__ = ("_lazy", "_values")

    def __init__(self, values: Mapping[str, Any], lazy: Mapping[str, Callable[[], Any]]) -> None:
        self._values = dict(values)
        self._lazy = dict(lazy)

    def __getitem__(self, key: str) -> Any:
        if key in self._lazy:
            self._values[key] = self._lazy.pop(key)()
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, *self._lazy])

    def __len__(self) -> int:
        return len(self._values) + len(self._lazy)

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in self._lazy


Handler = Callable[[Fired], None]
ManyHandler = Callable[[Sequence[Fired]], None]

_subscribers: dict[str, list[tuple[Phase, Handler]]] = {}
_many: dict[tuple[str, Handler], ManyHandler] = {}


def subscribe(
    name: Consequence | str,
    handler: Handler,
    *,
    phase: Phase = Phase.AFTER_COMMIT,
    many: ManyHandler | None = None,
) -> Handler:
    """Register ``handler(fired)`` for ``name``; registering the same handler twice is a no-op.

    ``many(fireds)``, if given, is called instead of ``handler`` once per :func:`fire_many`
    (an import of thousands of rows): the same reaction, in a few queries rather than a few
    per row.
    """
    entries = _subscribers.setdefault(str(name), [])
    if (phase, handler) not in entries:
        entries.append((phase, handler))
    if many is not None:
        _many[(str(name), handler)] = many
    return handler


def unsubscribe(name: Consequence | str, handler: Handler) -> None:
    """Forget ``handler`` for ``name`` in every phase (tests listening for a while)."""
    key = str(name)
    _subscribers[key] = [(ph, h) for ph, h in _subscribers.get(key, []) if h is not handler]
    _many.pop((key, handler), None)


def on(
    name: Consequence | str, *, phase: Phase = Phase.AFTER_COMMIT
) -> Callable[[Handler], Handler]:
    """Decorator form of :func:`subscribe`."""

    def decorate(handler: Handler) -> Handler:
        return subscribe(name, handler, phase=phase)

    return decorate


def subscribers(name: Consequence | str) -> list[tuple[Phase, Handler]]:
    return list(_subscribers.get(str(name), []))


def fire(name: Consequence | str, *, organization_id: int | None, **payload: Any) -> Fired:
    """Deliver a consequence: in-transaction subscribers now, the others after commit.

    Call it from the action, inside its transaction. Outside any transaction (autocommit),
    after-commit subscribers run at once, as ``on_commit`` does.
    """
    fired = Fired(name=str(name), organization_id=organization_id, payload=payload)
    for phase, handler in subscribers(name):
        if phase is Phase.IN_TRANSACTION:
            handler(fired)
        else:
            transaction.on_commit(_deliver(handler, fired), robust=True)
    return fired


def fire_many(
    name: Consequence | str, *, organization_id: int | None, payloads: Iterable[Mapping[str, Any]]
) -> list[Fired]:
    """One action that caused the same consequence many times (an import batch).

    Each subscriber hears every one: its ``many`` handler once with the list, else its handler
    once per item, in the same phases as :func:`fire`.
    """
    now = timezone.now()  # one action, one moment (each event keeps its own id)
    payloads = list(payloads)
    # uuid4() reads 16 random bytes per call: the batch's ids are read at once.
    noise = os.urandom(16 * len(payloads))
    fireds = [
        Fired(
            name=str(name),
            organization_id=organization_id,
            payload=p,
            occurred_at=now,
            id=uuid.UUID(bytes=noise[16 * i : 16 * i + 16], version=4),
        )
        for i, p in enumerate(payloads)
    ]
    if not fireds:
        return fireds
    for phase, handler in subscribers(name):
        many = _many.get((str(name), handler))
        if phase is Phase.IN_TRANSACTION:
            if many is not None:
                many(fireds)
            else:
                for fired in fireds:
                    handler(fired)
        elif many is not None:
            transaction.on_commit(_deliver_many(many, fireds), robust=True)
        else:
            for fired in fireds:
                transaction.on_commit(_deliver(handler, fired), robust=True)
    return fireds


def _deliver_many(many: ManyHandler, fireds: Sequence[Fired]) -> Callable[[], None]:
    def run() -> None:
        many(fireds)

    return run


def _deliver(handler: Handler, fired: Fired) -> Callable[[], None]:
    def run() -> None:
        handler(fired)

    return run
