"""Staff pages about customers and consents. They only translate: parse, access, call, render."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.accounts.models import Membership, User
from cueillette.core import audit_words
from cueillette.core.audit import Actor
from cueillette.core.decorators import request_can, staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.customers import care, queries, services
from cueillette.customers import export as csv_export
from cueillette.customers.forms import (
    CounterRegistrationForm,
    CustomerForm,
    WordingForm,
    add_service_errors,
)
from cueillette.customers.models import (
    CareNote,
    ConsentEvent,
    ConsentWording,
    Customer,
    EmailConfirmation,
    Purpose,
    Source,
)
from cueillette.referrals import counter as referral_counter

LANGUAGES = ("fr", "en")
AUDIT_PAGE_SIZE = 50
# Fields a merge fills on the survivor when they are empty (see services.merge_customers).
MERGE_FILLED_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_code",
    "birthday",
    "heard_from",
    "heard_from_detail",
)


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _ui_language() -> str:
    lang = (get_language() or "fr")[:2]
    return lang if lang in LANGUAGES else "fr"


# --------------------------------------------------------------------------- search


@staff_required(Perm.SERVE_CUSTOMERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    """The counter's search: one box, results as you type (``?partial=1`` gives the list)."""
    q = request.GET.get("q", "").strip()[:100]
    results = queries.search_with_consents(q)
    context = {
        "q": q,
        "results": results,
        "base_is_empty": not results and not queries.active_customers().exists(),
        "purposes": Purpose.values,
        "can_export": request_can(request, Perm.EXPORT_BASE),
        "can_import": request_can(request, Perm.IMPORT_CUSTOMERS),
        "can_merge": request_can(request, Perm.MERGE_CUSTOMERS),
    }
    if request.GET.get("partial"):
        return render(request, "customers/_results.html", context)
    return render(request, "customers/list.html", context)


# --------------------------------------------------------------------------- create / edit


def _registration_context(
    request: HttpRequest,
    form: CounterRegistrationForm,
    wording_language: str,
    duplicates: list[Customer],
) -> dict[str, Any]:
    wordings = services.current_wordings(wording_language)
    consent_rows = [
        {
            "purpose": p,
            "label": Purpose(p).label,
            "field": form[f"consent_{p}"],
            "wording": wordings[p],
            "by_email": p == Purpose.NEWS_EMAIL,
        }
        for p in Purpose.values
    ]
    # At the counter the three asked most come first; the others sit under "Other choices",
    # open as soon as one is ticked.
    main = (Purpose.LOYALTY, Purpose.NEWS_EMAIL, Purpose.NEWS_SMS)
    rows_main = [r for p in main for r in consent_rows if r["purpose"] == p]
    rows_other = [r for r in consent_rows if r["purpose"] not in main]
    source = request.POST if request.method == "POST" else request.GET
    more = ("postal_code", "language", "birthday", "tags", "heard_from", "heard_from_detail")
    return {
        "form": form,
        "consent_rows": consent_rows,
        "wording_language": wording_language,
        "duplicates": duplicates,
        "staff_name": cast(User, request.user).display_name,
        "from_counter": source.get("from") == "counter",
        "consent_rows_main": rows_main,
        "consent_rows_other": rows_other,
        "other_consents_open": any(source.get(f"consent_{r['purpose']}") for r in rows_other),
        # The optional part opens by itself when it holds an error or a chosen referrer.
        "more_open": any(name in form.errors for name in (*more, "notes", "referrer_q"))
        or bool(source.get("referrer")),
    }


@staff_required(Perm.SERVE_CUSTOMERS)
def customer_create(request: HttpRequest) -> HttpResponse:
    """Register a customer at the counter, with the consents they give orally."""
    duplicates: list[Customer] = []
    if request.method == "POST":
        form = CounterRegistrationForm(request.POST)
        wording_language = request.POST.get("wording_language", "")
        if wording_language not in LANGUAGES:
            wording_language = _ui_language()
        if form.is_valid():
            data = form.customer_data()
            try:
                # Field errors first (a pure check, nothing written), then the duplicates.
                services.clean_customer_data(data)
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                duplicates = services.find_duplicates(
                    email=str(data.email or ""), phone=str(data.phone or "")
                )
            if duplicates and not form.cleaned_data["create_anyway"]:
                form.add_error(
                    None,
                    _(
                        "A customer with the same email or phone already exists. Open their "
                        "record, or tick “create the record anyway” if this is another person."
                    ),
                )
        # "Who sent you?": the referrer, or an error asking staff to choose among matches.
        referrer = referral_counter.referrer_from_form(form)
        if form.is_valid():
            consents = form.consents()
            try:
                # The customer and the referral together (referrals hears CUSTOMER_JOINED in
                # the transaction): a refused referral creates nothing.
                result = services.create_customer_result(
                    form.customer_data(),
                    actor=_actor(request),
                    source=Source.COUNTER,
                    consents=consents,
                    consent_language=wording_language,
                    referrer=referrer,
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                customer = result.customer
                messages.success(
                    request,
                    _("%(name)s is registered.") % {"name": customer.full_name or customer},
                )
                _warn(request, result)
                if referrer is not None:
                    messages.info(
                        request,
                        _("Referral by %(name)s recorded.") % {"name": referrer.full_name},
                    )
                if consents.get(Purpose.NEWS_EMAIL):
                    messages.info(
                        request,
                        _(
                            "A confirmation email was sent to %(email)s: news by email "
                            "starts once they confirm."
                        )
                        % {"email": customer.email},
                    )
                # Back on the counter with the new member open, ready for the purchase.
                # The card at once: the loyalty consent issued it in the same transaction
                # (loyalty hears CONSENT_CHANGED); the counter's customer page opens the card.
                if consents.get(Purpose.LOYALTY) or request.POST.get("from") == "counter":
                    return redirect("loyalty:counter_customer", pk=customer.pk)
                return redirect("customers:detail", pk=customer.pk)
        status = 400 if form.errors else 200
        context = _registration_context(request, form, wording_language, duplicates)
        return render(request, "customers/create.html", context, status=status)

    if "referrer_search" in request.GET:
        # The live "who sent you?" list of the form (referrals/counter.js).
        return referral_counter.choices_fragment(request)
    initial: dict[str, Any] = {"language": current_org().language}
    for name in ("first_name", "last_name", "email", "phone"):
        if request.GET.get(name):
            initial[name] = request.GET[name][:100]
    typed = request.GET.get("q", "").strip()[:100]
    if typed:
        # "Register a new customer" from a search without result: keep what was typed.
        if "@" in typed:
            initial["email"] = typed
        elif sum(ch.isdigit() for ch in typed) >= 3:
            initial["phone"] = typed
        else:
            initial["last_name"] = typed
    form = CounterRegistrationForm(initial=initial)
    context = _registration_context(request, form, _ui_language(), duplicates)
    return render(request, "customers/create.html", context)


@staff_required(Perm.SERVE_CUSTOMERS)
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """The live warning of the registration form: who already has this email or phone."""
    exclude = [int(x) for x in request.GET.getlist("exclude") if x.isdigit()]
    duplicates = services.find_duplicates(
        email=request.GET.get("email", "")[:254],
        phone=request.GET.get("phone", "")[:32],
        exclude=exclude,
    )
    return render(request, "customers/_duplicates.html", {"duplicates": duplicates})


def _warn(request: HttpRequest, result: services.CustomerResult) -> None:
    """What the service kept with a warning, shown after saving. Health-looking tags were
    already confirmed on the form (it asks before saving), so only the other fields."""
    for warning in result.warnings:
        if warning.field != "tags":
            messages.warning(request, warning.message)


@staff_required(Perm.SERVE_CUSTOMERS)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = access(Customer, pk)
    if not customer.is_active:
        raise Http404
    if request.method == "POST":
        form = CustomerForm(request.POST, existing_tags=customer.tags)
        if form.is_valid():
            try:
                result = services.update_customer_result(
                    customer, form.customer_data(), actor=_actor(request)
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                _warn(request, result)
                return redirect("customers:detail", pk=customer.pk)
        return render(
            request, "customers/edit.html", {"form": form, "customer": customer}, status=400
        )
    form = CustomerForm(initial=CustomerForm.initial_from(customer))
    return render(request, "customers/edit.html", {"form": form, "customer": customer})


# --------------------------------------------------------------------------- detail, consent


@staff_required(Perm.SERVE_CUSTOMERS)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, access(Customer, pk))


def _render_detail(
    request: HttpRequest, customer: Customer, *, http_status: int = 200, **care_form: str
) -> HttpResponse:
    ids = services.history_ids(customer)
    state = services.consent_state(customer)
    pending = queries.pending_confirmations(customer) if customer.is_active else {}
    wordings = services.current_wordings(customer.language)
    consent_rows = []
    for p in Purpose.values:
        status = queries.consent_status(p, state[p], pending.get(p))
        consent_rows.append(
            {
                "purpose": p,
                "label": Purpose(p).label,
                "status": status,
                "event": status.event,
                "granted": status.granted,
                "pending": status.pending,
                "wording": wordings[p],
                "by_email": p == Purpose.NEWS_EMAIL,
            }
        )
    can_audit = request_can(request, Perm.VIEW_AUDIT)
    context = {
        "customer": customer,
        "consent_rows": consent_rows,
        "ledger": queries.ledger(ids),
        "merged_records": Customer.objects.filter(pk__in=ids[1:]).order_by("pk"),
        "duplicates": services.find_duplicates(
            email=customer.email, phone=customer.phone, exclude=[customer.pk]
        )
        if customer.is_active
        else [],
        "can_merge": request_can(request, Perm.MERGE_CUSTOMERS),
        "can_erase": request_can(request, Perm.ERASE_CUSTOMERS),
        "can_audit": can_audit,
        "audit_rows": audit_words.worded(
            list(queries.audit_log(object_type="customer", object_ids=[str(i) for i in ids])[:50]),
            audit_words.staff_roles(),
        )
        if can_audit
        else [],
    }
    context.update(_care_context(request, customer, **care_form))
    return render(request, "customers/detail.html", context, status=http_status)


def _care_context(
    request: HttpRequest, customer: Customer, *, text: str = "", error: str = ""
) -> dict[str, Any]:
    # Health data: not even the section shows to a role that may not read it.
    if not request_can(request, Perm.VIEW_CARE_NOTES):
        return {"can_care": False}
    return {
        "can_care": True,
        "care_notes": care.current_notes(customer),
        "care_history": care.history(customer),
        "care_text": text,
        "care_error": error,
    }


@staff_required(Perm.VIEW_CARE_NOTES)
@require_POST
def care_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a care note, or correct one (``replaces``): the old text stays in the history."""
    customer = access(Customer, pk)
    replaces_id = request.POST.get("replaces", "")
    ids = services.history_ids(customer)
    replaces = access(CareNote, replaces_id, customer__in=ids) if replaces_id else None
    text = request.POST.get("text", "")
    try:
        care.add_note(customer, text, actor=_actor(request), replaces=replaces)
    except ServiceError as exc:
        return _render_detail(
            request, customer, http_status=exc.status, text=text, error=exc.message
        )
    messages.success(request, _("Care note saved. Only the people who give care can read it."))
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#care")


@require_POST
@staff_required(Perm.SERVE_CUSTOMERS)
def consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff record what the customer says, orally, for one purpose: yes or no."""
    customer = access(Customer, pk)
    action = request.POST.get("action", "")
    if action not in ("grant", "withdraw"):
        messages.error(request, _("action must be grant or withdraw"))
        return redirect("customers:detail", pk=customer.pk)
    purpose = request.POST.get("purpose", "")
    try:
        result = services.record_consent(
            customer,
            purpose,
            action == "grant",
            source=Source.COUNTER,
            actor=_actor(request),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        label = Purpose(purpose).label
        if isinstance(result, EmailConfirmation):
            messages.info(
                request,
                _(
                    "A confirmation email was sent to %(email)s: “%(purpose)s” starts once "
                    "they confirm."
                )
                % {"email": result.email, "purpose": label},
            )
        elif action == "grant":
            messages.success(request, _("Consent recorded: %(purpose)s.") % {"purpose": label})
        else:
            messages.success(request, _("Consent withdrawn: %(purpose)s.") % {"purpose": label})
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#consents")


# --------------------------------------------------------------------------- duplicates, merge


@staff_required(Perm.MERGE_CUSTOMERS)
def duplicates(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/duplicates.html", {"groups": queries.duplicate_groups()})


def _merge_preview(survivor: Customer, other: Customer) -> dict[str, Any]:
    """What a merge would do, computed with the same rules as services.merge_customers."""
    filled = [
        str(getattr(Customer._meta.get_field(name), "verbose_name", name))
        for name in MERGE_FILLED_FIELDS
        if not getattr(survivor, name) and getattr(other, name)
    ]
    mine, theirs = services.consent_state(survivor), services.consent_state(other)
    rows = []
    for p in Purpose.values:
        candidates = [
            (e.occurred_at, rank, e) for rank, e in ((0, mine[p]), (1, theirs[p])) if e is not None
        ]
        # The copies are appended after the survivor's entries: on equal times they win.
        result = max(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None
        rows.append(
            {"label": Purpose(p).label, "mine": mine[p], "theirs": theirs[p], "result": result}
        )
    return {
        "filled": filled,
        "consent_rows": rows,
        "survivor_entries": survivor.consent_events.count(),
        "other_entries": other.consent_events.count(),
    }


@staff_required(Perm.MERGE_CUSTOMERS)
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another record into this one: choose it, see what happens, confirm."""
    survivor = access(Customer, pk)
    if not survivor.is_active:
        raise Http404
    other_id = request.POST.get("other") or request.GET.get("other")
    if request.method == "POST":
        other = access(Customer, other_id)
        try:
            services.merge_customers(survivor, other, actor=_actor(request))
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("customers:merge", kwargs={"pk": survivor.pk}))
        messages.success(
            request,
            _("Record #%(other)s was merged into this one; both histories are kept.")
            % {"other": other.pk},
        )
        return redirect("customers:detail", pk=survivor.pk)

    context: dict[str, Any] = {"customer": survivor}
    if other_id:
        other = access(Customer, other_id)
        if other.pk == survivor.pk or not other.is_active:
            raise Http404
        context["other"] = other
        context["preview"] = _merge_preview(survivor, other)
    else:
        q = request.GET.get("q", "").strip()[:100]
        context["q"] = q
        context["duplicates"] = services.find_duplicates(
            email=survivor.email, phone=survivor.phone, exclude=[survivor.pk]
        )
        context["candidates"] = [c for c in queries.search(q) if c.pk != survivor.pk] if q else []
    return render(request, "customers/merge.html", context)


# --------------------------------------------------------------------------- export


@staff_required(Perm.ERASE_CUSTOMERS)
def erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase a customer who asked for it at the counter or by letter: confirm, then anonymise."""
    from cueillette.customers.services import erase_customer

    customer = access(Customer, pk)
    if not customer.is_active:
        raise Http404
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            return render(
                request,
                "customers/erase.html",
                {"customer": customer, "confirm_error": True},
                status=400,
            )
        erase_customer(customer, actor=_actor(request), reason="staff")
        messages.success(request, _("The customer's personal data was erased."))
        return redirect("customers:list")
    return render(request, "customers/erase.html", {"customer": customer})


@staff_required(Perm.IMPORT_CUSTOMERS)
def import_file(request: HttpRequest) -> HttpResponse:
    """Imports live in their own pages now (background work, mapping, consent basis)."""
    return redirect("imports:index")


def _export_header() -> list[str]:
    return [
        _("id"),
        _("first name"),
        _("last name"),
        _("email"),
        _("phone"),
        _("postal code"),
        _("preferred language"),
        _("birthday"),
        _("interests"),
        _("how did you hear about us"),
        _("details"),
        _("notes"),
        _("registered on"),
        _("last activity"),
        *[str(Purpose(p).label) for p in Purpose.values],
    ]


@staff_required(Perm.EXPORT_BASE)
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    """GET says what the file will contain (columns, rows, what it may be used for) and offers
    a button; only the button's POST builds the CSV and audits it — a crawler, a link preview
    or a browser's prefetch follows links, it does not press buttons."""
    header = _export_header()
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        rows = csv_export.export_snapshot()[1]
        status = 200 if request.method == "GET" else 400
        context = {"columns": header, "rows": rows, "purposes": Purpose.labels}
        return render(request, "customers/export_confirm.html", context, status=status)
    org = current_org()
    up_to_id, rows = csv_export.export_snapshot()
    services.log_export(_actor(request), rows=rows)
    words: dict[bool | None, str] = {True: _("yes"), False: _("no"), None: ""}
    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(
        csv_export.iter_csv(org, header, words, up_to_id=up_to_id),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customers-{org.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    # The staff_required door is typed for HttpResponse; a streaming answer is just as good.
    return cast(HttpResponse, response)


def _data_kinds() -> list[tuple[str, str, str]]:
    """(kind, name, what it holds) of every data export, in the page's order."""
    return [
        ("customers", _("Customers"), _("one row per customer, with the state of each consent")),
        (
            "consents",
            _("Consent ledger"),
            _("every grant and withdrawal ever recorded, with its wording and evidence"),
        ),
        ("points", _("Points ledger"), _("every points entry: earned, spent, expired, corrected")),
        (
            "purchases",
            _("Purchases"),
            _("sales recorded at the counter and sales imported from other tools"),
        ),
        ("posts", _("Community posts"), _("every post, hidden ones included, with its status")),
    ]


@staff_required(Perm.EXPORT_BASE)
@require_http_methods(["GET", "POST"])
def export_data(request: HttpRequest) -> HttpResponse:
    """The organization's data, one kind at a time, as CSV (spreadsheets) or JSON (programs).

    Like the base export, GET says what each file holds and only the button's POST downloads
    and audits; the same streams as ``manage.py export``."""
    org = current_org()
    kinds = _data_kinds()
    errors: dict[str, str] = {}
    kind, fmt = request.POST.get("kind", ""), request.POST.get("format", "")
    if request.method == "POST":
        if kind not in csv_export.EXPORT_KINDS:
            errors["kind"] = _("choose what to export")
        if fmt not in ("csv", "json"):
            errors["format"] = _("choose CSV or JSON")
    if request.method == "GET" or errors:
        counts = {k: csv_export.count_data(org, k) for k, _n, _w in kinds}
        context = {
            "kinds": [(k, name, what, counts[k]) for k, name, what in kinds],
            "errors": errors,
            "chosen": {"kind": kind or "consents", "format": fmt or "csv"},
        }
        return render(request, "customers/export_data.html", context, status=400 if errors else 200)
    services.log_export(_actor(request), rows=csv_export.count_data(org, kind), kind=kind, fmt=fmt)
    header, rows = csv_export.export_data(org, kind)
    chunks = (
        csv_export.iter_data_json(rows) if fmt == "json" else csv_export.iter_data_csv(header, rows)
    )
    response = StreamingHttpResponse(
        chunks,
        content_type="application/json" if fmt == "json" else "text/csv; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{kind}-{org.slug}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return cast(HttpResponse, response)


# --------------------------------------------------------------------------- audit


def _parse_day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@staff_required(Perm.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every change, newest first, filtered by action, actor, dates and object."""
    g = request.GET
    actor = g.get("actor", "")
    actor_id = int(actor) if actor.isdigit() else None
    actor_kind = actor if actor in ("customer", "api", "system") else ""
    object_type = g.get("object_type", "")[:64]
    object_id = g.get("object_id", "").strip().lstrip("#")[:64]
    qs = queries.audit_log(
        action=g.get("action", "")[:64],
        actor_id=actor_id,
        actor_kind=actor_kind,
        since=_parse_day(g.get("since", "")),
        until=_parse_day(g.get("until", "")),
        object_type=object_type,
        object_ids=[object_id] if object_id else None,
    )
    page = Paginator(qs, AUDIT_PAGE_SIZE).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "events": audit_words.worded(list(page.object_list), audit_words.staff_roles()),
        "filters": {
            "action": g.get("action", ""),
            "actor": actor,
            "since": g.get("since", ""),
            "until": g.get("until", ""),
            "object_type": object_type,
            "object_id": object_id,
        },
        "querystring": query.urlencode(),
        "actions": queries.audit_actions(),
        "members": Membership.objects.select_related("user").order_by("user__full_name"),
        "object_types": audit_words.object_type_choices(queries.audit_object_types()),
    }
    return render(request, "customers/audit.html", context)


# --------------------------------------------------------------------------- wordings


@staff_required(Perm.EDIT_WORDINGS)
def wordings(request: HttpRequest) -> HttpResponse:
    """Every purpose in every language: the current text and the versions before it."""
    for lang in LANGUAGES:
        services.current_wordings(lang)  # seeds version 1 if this business has none yet
    versions: dict[tuple[str, str], list[ConsentWording]] = {}
    for w in ConsentWording.objects.select_related("created_by").order_by(
        "purpose", "language", "-version"
    ):
        versions.setdefault((w.purpose, w.language), []).append(w)
    uses = dict(
        ConsentEvent.objects.values("wording_id")
        .annotate(n=Count("id"))
        .values_list("wording_id", "n")
    )
    purposes = []
    for p in Purpose.values:
        langs = []
        for lang in LANGUAGES:
            vs = versions.get((p, lang), [])
            langs.append(
                {
                    "code": lang,
                    "current": vs[0] if vs else None,
                    "older": vs[1:],
                    "uses": {w.pk: uses.get(w.pk, 0) for w in vs},
                }
            )
        purposes.append({"purpose": p, "label": Purpose(p).label, "languages": langs})
    return render(request, "customers/wordings.html", {"purposes": purposes})


@staff_required(Perm.EDIT_WORDINGS)
def wording_edit(request: HttpRequest, purpose: str, language: str) -> HttpResponse:
    """Saving a changed text creates a new version; earlier consents stay tied to theirs."""
    if purpose not in Purpose.values or language not in LANGUAGES:
        raise Http404
    current = services.current_wording(purpose, language)
    if request.method == "POST":
        form = WordingForm(request.POST)
        if form.is_valid():
            try:
                wording = services.set_wording(
                    purpose, language, form.cleaned_data["text"], actor=_actor(request)
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                if wording.pk == current.pk:
                    messages.info(request, _("The text did not change: no new version."))
                else:
                    messages.success(
                        request,
                        _("Version %(version)d saved. Earlier consents stay tied to their text.")
                        % {"version": wording.version},
                    )
                return redirect("customers:wordings")
        status = 400
    else:
        form = WordingForm(initial={"text": current.text})
        status = 200
    context = {
        "form": form,
        "current": current,
        "purpose_label": Purpose(purpose).label,
        "language": language,
    }
    return render(request, "customers/wording_edit.html", context, status=status)
