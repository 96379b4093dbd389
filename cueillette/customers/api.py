"""Customers and consents for tills: thin translation to customers.services and .queries.

Every row is reached through ``tenancy.access`` (404 for another organization's ids); every
write is one service call with ``Actor.api(key name)``.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router
from ninja.params.functions import Query
from ninja.responses import Status

from cueillette.api import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    ApiError,
    api_actor,
    paginate,
    requires,
)
from cueillette.core.audit import Actor
from cueillette.core.permissions import ApiScope
from cueillette.core.tenancy import access
from cueillette.customers import queries, services
from cueillette.customers.models import (
    ConsentEvent,
    Customer,
    EmailConfirmation,
    Purpose,
    Source,
)
from cueillette.customers.schemas import (
    ConsentEventOut,
    ConsentIn,
    ConsentPage,
    ConsentRecordedOut,
    ConsentStateOut,
    CustomerCreatedOut,
    CustomerCreateIn,
    CustomerOut,
    CustomerPage,
    CustomerUpdateIn,
    CustomerWrittenOut,
    MergeIn,
    PurposeState,
)

router = Router(tags=["customers"])

# Sources a till may claim for a consent it records; the others belong to our own flows.
API_SOURCES = (Source.API, Source.COUNTER, Source.IMPORT)
LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


def _actor(request: HttpRequest) -> Actor:
    return api_actor(request)


def _pending_purposes(customer: Customer) -> set[str]:
    return set(
        EmailConfirmation.objects.filter(
            customer=customer, used_at__isnull=True, expires_at__gt=timezone.now()
        ).values_list("purpose", flat=True)
    )


@router.get("", response=CustomerPage, summary="List or search customers")
@requires(ApiScope.CUSTOMERS_READ)
def list_customers(
    request: HttpRequest,
    q: str = Query("", description="email, phone or name prefix; one page, no cursor"),
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, object]:
    """Active customers by id, page by page; with ``q``, the best matches (one page)."""
    if q.strip():
        return {"items": list(queries.search(q, limit=limit)), "next_cursor": None}
    rows, next_cursor = paginate(queries.active_customers(), cursor=cursor, limit=limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.post("", response={201: CustomerCreatedOut}, summary="Create a customer")
@requires(ApiScope.CUSTOMERS_WRITE)
def create_customer(request: HttpRequest, payload: CustomerCreateIn) -> Status[dict[str, object]]:
    """Create a customer with the consents they gave; nothing is assumed."""
    data = payload.model_dump(exclude_unset=True, exclude={"consents", "consent_language"})
    result = services.create_customer_result(
        services.CustomerInput.of(data),
        actor=_actor(request),
        source=Source.API,
        consents=payload.consents,
        consent_language=payload.consent_language,
    )
    customer = result.customer
    state = services.consent_state(customer)
    pending = _pending_purposes(customer)
    consents: dict[str, str] = {}
    for purpose, wanted in payload.consents.items():
        latest = state.get(purpose)
        if wanted and latest is not None and latest.granted:
            consents[purpose] = "granted"
        elif wanted and purpose in pending:
            consents[purpose] = "pending_confirmation"
        else:
            consents[purpose] = "not_given"
    body = CustomerOut.from_orm(customer).model_dump()
    warnings = [w.as_dict() for w in result.warnings]
    return Status(201, {**body, "consents": consents, "warnings": warnings})


@router.get("/{int:customer_id}", response=CustomerOut, summary="Read a customer")
@requires(ApiScope.CUSTOMERS_READ)
def get_customer(request: HttpRequest, customer_id: int) -> Customer:
    return access(Customer, customer_id)


@router.patch("/{int:customer_id}", response=CustomerWrittenOut, summary="Update a customer")
@requires(ApiScope.CUSTOMERS_WRITE)
def update_customer(
    request: HttpRequest, customer_id: int, payload: CustomerUpdateIn
) -> dict[str, object]:
    """Change only the fields sent; ``warnings`` concern the fields that changed."""
    customer = access(Customer, customer_id)
    result = services.update_customer_result(
        customer,
        services.CustomerInput.of(payload.model_dump(exclude_unset=True)),
        actor=_actor(request),
    )
    body = CustomerOut.from_orm(result.customer).model_dump()
    return {**body, "warnings": [w.as_dict() for w in result.warnings]}


@router.post("/{int:customer_id}/merge", response=CustomerOut, summary="Merge two customers")
@requires(ApiScope.CUSTOMERS_MERGE)
def merge_customers(request: HttpRequest, customer_id: int, payload: MergeIn) -> Customer:
    """Fold ``other_id`` into this customer; the other record stays, marked as merged."""
    survivor = access(Customer, customer_id)
    other = access(Customer, payload.other_id)
    return services.merge_customers(survivor, other, actor=_actor(request))


@router.get(
    "/{int:customer_id}/consents", response=ConsentPage, summary="The consent ledger of a customer"
)
@requires(ApiScope.CUSTOMERS_READ)
def consent_ledger(
    request: HttpRequest, customer_id: int, cursor: str | None = None, limit: int = LIMIT
) -> dict[str, object]:
    """Every grant and withdrawal, newest first, with the exact wording (version and hash)."""
    customer = access(Customer, customer_id)
    qs = ConsentEvent.objects.filter(customer=customer).select_related("wording")
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("-occurred_at", "-id"))
    return {"items": rows, "next_cursor": next_cursor}


@router.get(
    "/{int:customer_id}/consents/current",
    response=ConsentStateOut,
    summary="Current consent state per purpose",
)
@requires(ApiScope.CUSTOMERS_READ)
def consent_current(request: HttpRequest, customer_id: int) -> dict[str, object]:
    customer = access(Customer, customer_id)
    state = services.consent_state(customer)
    pending = _pending_purposes(customer)
    purposes = []
    for purpose in Purpose.values:
        event = state.get(purpose)
        if event is not None and event.granted:
            label = "granted"
        elif purpose in pending:
            label = "pending_confirmation"
        elif event is not None:
            label = "withdrawn"
        else:
            label = "never_asked"
        purposes.append(
            PurposeState(
                purpose=purpose,
                state=label,
                granted=bool(event and event.granted),
                since=event.occurred_at if event else None,
                wording_version=event.wording.version if event else None,
                event_id=event.pk if event else None,
            )
        )
    return {"customer_id": customer.pk, "purposes": purposes}


@router.post(
    "/{int:customer_id}/consents",
    response={200: ConsentRecordedOut, 201: ConsentRecordedOut, 202: ConsentRecordedOut},
    summary="Record a grant or a withdrawal",
)
@requires(ApiScope.CONSENTS_WRITE)
def record_consent(
    request: HttpRequest, customer_id: int, payload: ConsentIn
) -> Status[ConsentRecordedOut]:
    """201 recorded, 200 unchanged (same decision already in the ledger), 202 pending: a
    news_email grant waits for the customer to confirm by email."""
    customer = access(Customer, customer_id)
    source = services.parse_source(payload.source)
    if source not in API_SOURCES:
        raise ApiError(
            "source_not_allowed",
            _("source must be one of: %(choices)s") % {"choices": ", ".join(API_SOURCES)},
            field="source",
        )
    result = services.record_consent_result(
        customer,
        payload.purpose,
        payload.granted,
        source=source,
        actor=_actor(request),
        language=payload.language,
    )
    if result.pending is not None:
        return Status(202, ConsentRecordedOut(result="pending_confirmation", event=None))
    if result.entry is None:  # pragma: no cover - the service returns an entry or a pending grant
        return Status(200, ConsentRecordedOut(result="unchanged", event=None))
    event = ConsentEventOut.from_orm(result.entry)
    if result.created:
        return Status(201, ConsentRecordedOut(result="recorded", event=event))
    return Status(200, ConsentRecordedOut(result="unchanged", event=event))
