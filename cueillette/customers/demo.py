"""Realistic demo data for ``make demo``: two businesses, their staff, ~2,000 customers.

* "Cabinet d'acupuncture Claire Martin" (an acupuncture practice, ~600 patients) and
  "Épicerie Voisine" (a neighbourhood shop, ~1,400 customers), both in the Lyon area;
* Claire owns both (organization switching), Marc manages the shop, Léa works at its counter;
* customers with French names, valid French mobile numbers (E.164) and emails at the usual
  French providers, joined over the last two years, with a realistic mix of consents in the
  append-only ledger (most customers have NOT agreed to receive news; some withdrew later);
  news-by-email grants carry their double opt-in evidence; a few confirmations are pending.

Loading is idempotent: a second run changes nothing; ``reset=True`` removes the demo
businesses (and only them) first. Other apps add their own demo data by registering
``load(org, customers, rng, now)`` with ``core.demo.register``; it is called for each business.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from cueillette.accounts.models import Membership, Role, User
from cueillette.accounts.services import create_organization
from cueillette.core import audit
from cueillette.core import demo as core_demo
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import TenantModel, tenant_context
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers.bulk import RowInserter
from cueillette.customers.models import (
    PURPOSE_CHANNEL,
    CareNote,
    ConsentEvent,
    ConsentWording,
    Customer,
    EmailConfirmation,
    Purpose,
)
from cueillette.customers.normalize import fold

PASSWORD = "demo-cueillette"
SEED = 20240917
DOMAINS = (
    ("orange.fr", 26),
    ("gmail.com", 30),
    ("free.fr", 14),
    ("laposte.net", 9),
    ("sfr.fr", 8),
    ("outlook.fr", 7),
    ("hotmail.fr", 6),
)
POSTAL_CODES = ("69001", "69002", "69003", "69004", "69005", "69006", "69007", "69100", "69300")


@dataclass(frozen=True)
class Business:
    slug: str
    name: str
    customers: int
    tags: tuple[str, ...]
    notes: tuple[str, ...]
    # Health information a practice keeps to give care: care notes, never tags (GDPR art. 9).
    care_notes: tuple[str, ...]
    contact: str
    address: str


PRACTICE = Business(
    slug="cabinet-martin",
    name="Cabinet d'acupuncture Claire Martin",
    customers=600,
    # Interests only: what the practice may use for news and offers (with consent).
    tags=("ateliers", "bien-être", "sport", "méditation", "horaires du soir", "carte cadeau"),
    notes=(
        "Préfère les rendez-vous du matin.",
        "Vient sur recommandation de son médecin traitant.",
        "Souhaite être rappelée la veille du rendez-vous.",
        "Règle souvent par chèque.",
    ),
    care_notes=(
        "Migraines depuis l'adolescence, deux à trois crises par mois.",
        "Grossesse, deuxième trimestre : séances adaptées.",
        "Sevrage tabagique en cours, depuis janvier.",
        "Troubles du sommeil, réveils nocturnes.",
        "Douleurs lombaires chroniques.",
        "Stress et fatigue au travail.",
    ),
    contact="claire@cabinet-martin.example",
    address="12 rue Sainte-Catherine, 69001 Lyon",
)
SHOP = Business(
    slug="epicerie-voisine",
    name="Épicerie Voisine",
    customers=1400,
    tags=("bio", "vrac", "fromages", "vins", "café", "thé", "sans gluten", "fruits et légumes"),
    notes=(
        "Commande un panier de légumes le vendredi.",
        "Aime qu'on lui mette de côté le comté 24 mois.",
        "Livraison possible le samedi matin.",
        "Client depuis l'ouverture.",
    ),
    care_notes=(),
    contact="marc@epicerie-voisine.example",
    address="48 rue de la Thibaudière, 69007 Lyon",
)
BUSINESSES = (PRACTICE, SHOP)
STAFF = (
    # email, full name, {business slug: role}
    (
        "claire@cabinet-martin.example",
        "Claire Martin",
        {PRACTICE.slug: Role.OWNER, SHOP.slug: Role.OWNER},
    ),
    ("marc@epicerie-voisine.example", "Marc Petit", {SHOP.slug: Role.MANAGER}),
    ("lea@epicerie-voisine.example", "Léa Morel", {SHOP.slug: Role.COUNTER}),
)
LOGINS = tuple((email, name) for email, name, _roles in STAFF)

# Share of customers granting each purpose when they joined (most do NOT want news).
GRANT_RATES = {
    Purpose.LOYALTY: 0.62,
    Purpose.NEWS_EMAIL: 0.30,
    Purpose.NEWS_SMS: 0.15,
    Purpose.PROFILING: 0.20,
    Purpose.FEEDBACK: 0.18,
    Purpose.COMMUNITY: 0.08,
}
# Share of grants withdrawn later (unsubscribe link, STOP, the customer space).
WITHDRAW_RATE = 0.09
# Share of customers who said "no thanks" explicitly (a recorded refusal).
REFUSAL_RATE = 0.12


def demo_organizations() -> list[Organization]:
    return list(Organization.objects.filter(slug__in=[b.slug for b in BUSINESSES]))


@transaction.atomic
def reset() -> int:
    """Remove the demo businesses, every row they own, and the demo staff accounts."""
    orgs = demo_organizations()
    ids = [o.pk for o in orgs]
    if ids:
        # Every tenant table, whatever app it belongs to: raw DELETEs (the ledger and the
        # audit log refuse Model.delete on purpose; these are demo rows). Foreign keys are
        # checked at commit, so the order does not matter.
        qn = connection.ops.quote_name
        marks = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            for model in apps.get_models():
                if issubclass(model, TenantModel):
                    table = qn(model._meta.db_table)
                    column = qn("organization_id")
                    sql = f"DELETE FROM {table} WHERE {column} IN ({marks})"  # noqa: S608
                    cursor.execute(sql, ids)
        Organization.objects.filter(pk__in=ids).delete()
    User.objects.filter(email__in=[email for email, _name in LOGINS]).delete()
    return len(ids)


@transaction.atomic
def load(*, log: Callable[[str], None] = print) -> bool:
    """Create the demo data unless it is already there; True if something was created."""
    if demo_organizations():
        log("Demo data already loaded (use --reset to start again).")
        return False
    rng = random.Random(SEED)
    fake = Faker("fr_FR")
    fake.seed_instance(SEED)
    now = timezone.now()
    users = {}
    for email, name, _roles in STAFF:
        user = User.objects.create_user(email, PASSWORD, full_name=name, language="fr")
        user.email_confirmed_at = now - dt.timedelta(days=730)
        user.save(update_fields=["email_confirmed_at"])
        users[email] = user
    claire = users[STAFF[0][0]]
    for business in BUSINESSES:
        org = create_organization(owner=claire, name=business.name, slug=business.slug)
        Organization.objects.filter(pk=org.pk).update(
            contact_email=business.contact,
            address=business.address,
            created_at=now - dt.timedelta(days=735),
        )
        org.refresh_from_db()
        with tenant_context(org):
            staff = []
            for email, _name, roles in STAFF:
                role = roles.get(business.slug)
                if role is None:
                    continue
                if role != Role.OWNER:
                    Membership.objects.create(user=users[email], role=role)
                    audit.record(
                        Actor.staff(claire),
                        "membership.created",
                        object_type="membership",
                        role=role,
                    )
                staff.append(users[email])
            customers = _customers(org, business, staff, rng, fake, now)
            log(f"{business.name}: {len(customers)} customers")
            _extensions(org, customers, rng, now)
    return True


def _email_for(first: str, last: str, rng: random.Random, taken: set[str]) -> str:
    f, last_key = fold(first).replace(" ", "-"), fold(last).replace(" ", "")
    domain = rng.choices([d for d, _w in DOMAINS], weights=[w for _d, w in DOMAINS])[0]
    for attempt in range(20):
        style = rng.random()
        if style < 0.45:
            local = f"{f}.{last_key}"
        elif style < 0.65:
            local = f"{f[0]}{last_key}"
        elif style < 0.8:
            local = f"{f}{last_key}"
        else:
            local = f"{f}.{last_key}{rng.randint(1, 99)}"
        if attempt:
            local += str(rng.randint(1, 999))
        email = f"{local}@{domain}"
        if email not in taken:
            taken.add(email)
            return email
    raise RuntimeError("could not make a unique email")


def _mobile(rng: random.Random, taken: set[str]) -> str:
    """A valid, unique French mobile number in E.164 (+336…/+337…)."""
    while True:
        lead = rng.choice(
            ["60", "61", "62", "64", "65", "66", "67", "68", "73", "75", "76", "77", "78"]
        )
        number = f"+33{lead}{rng.randint(0, 9_999_999):07d}"
        if number in taken:
            continue
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            taken.add(number)
            return number


def _moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A moment between start and end, preferably during opening hours (9:00 to 19:00)."""
    span = max(0.0, (end - start).total_seconds())
    moment = start + dt.timedelta(seconds=rng.random() * span)
    local = timezone.localtime(moment)
    opening = local.replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59))
    return opening if start <= opening <= end else moment


def _customers(
    org: Organization,
    business: Business,
    staff: list[User],
    rng: random.Random,
    fake: Faker,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    two_years_ago = now - dt.timedelta(days=730)
    emails: set[str] = set()
    phones: set[str] = set()
    rows: list[dict[str, Any]] = []
    for _ in range(business.customers):
        female = rng.random() < (0.72 if business is PRACTICE else 0.56)
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        # More customers joined recently than two years ago: the business grows.
        day = two_years_ago + dt.timedelta(days=730 * (rng.random() ** 0.8))
        created = _moment(rng, day.replace(hour=0), min(now, day.replace(hour=23)))
        # Activity: most came back recently; some drift away; a few never came back.
        drift = rng.random()
        if drift < 0.55:
            last_active = _moment(rng, max(created, now - dt.timedelta(days=60)), now)
        elif drift < 0.85:
            last_active = _moment(rng, created, max(created, now - dt.timedelta(days=90)))
        else:
            last_active = created
        has_email, has_phone = rng.random() < 0.86, rng.random() < 0.9
        if not has_email and not has_phone:
            has_phone = True
        email = _email_for(first, last, rng, emails) if has_email else ""
        phone = _mobile(rng, phones) if has_phone else ""
        source = rng.choices(["counter", "join_page", "import"], weights=[55, 30, 15])[0]
        birthday = None
        if rng.random() < 0.42:
            age = rng.randint(19, 84)
            birthday = (now - dt.timedelta(days=365.25 * age + rng.randint(0, 364))).date()
        tags = rng.sample(business.tags, k=rng.choice([0, 0, 1, 1, 2, 3]))
        heard_from = rng.choices(
            ["", "friend", "walk_by", "search", "social", "press", "professional", "other"],
            weights=[
                30,
                22,
                18 if business is SHOP else 4,
                10,
                8,
                4,
                4 if business is SHOP else 20,
                2,
            ],
        )[0]
        rows.append(
            {
                "organization_id": org.pk,
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
                "postal_code": rng.choice(POSTAL_CODES),
                "language": "en" if rng.random() < 0.04 else "fr",
                "birthday": birthday,
                "notes": rng.choice(business.notes) if rng.random() < 0.08 else "",
                "tags": tags,
                "heard_from": heard_from,
                "heard_from_detail": "",
                "source": source,
                "status": "active",
                "created_at": created,
                "updated_at": max(created, last_active),
                "last_activity_at": last_active,
                "search_last": fold(last)[:100],
                "search_first": fold(first)[:100],
                "search_phone": phone[3:],
            }
        )
    ids = RowInserter(Customer, {}).insert(rows, returning=True)
    for row, pk in zip(rows, ids, strict=True):
        row["id"] = pk
    _consents(org, rows, staff, rng, now)
    # Its own random stream: the rest of the demo draws the same numbers as before.
    _care_notes(org, business, rows, staff, random.Random(SEED + 1))
    imported = sum(1 for r in rows if r["source"] == "import")
    audit.record(
        Actor.staff(staff[0]),
        "customers.imported",
        object_type="import",
        rows=imported,
        created=imported,
        duplicates=0,
        bad_rows=0,
        consents=0,
        confirmations_requested=0,
        all_or_nothing=False,
    )
    return rows


def _care_notes(
    org: Organization,
    business: Business,
    customers: list[dict[str, Any]],
    staff: list[User],
    rng: random.Random,
) -> None:
    """A third of the practice's patients have a care note, written by the practitioner."""
    if not business.care_notes:
        return
    author = staff[0]
    CareNote.objects.bulk_create(
        CareNote(
            organization_id=org.pk,
            customer_id=c["id"],
            text=rng.choice(business.care_notes),
            author=author,
            author_label=author.display_name,
            created_at=c["created_at"] + dt.timedelta(minutes=rng.randint(5, 90)),
        )
        for c in customers
        if rng.random() < 0.35
    )


def _consents(
    org: Organization,
    customers: list[dict[str, Any]],
    staff: list[User],
    rng: random.Random,
    now: dt.datetime,
) -> None:
    wordings = {(w.purpose, w.language): w for w in ConsentWording.objects.all()}
    events: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []

    def event(
        customer: dict[str, Any],
        purpose: str,
        granted: bool,
        when: dt.datetime,
        source: str,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        wording = wordings[(purpose, customer["language"])]
        by_staff = source == "counter"
        user = rng.choice(staff) if by_staff else None
        events.append(
            {
                "organization_id": org.pk,
                "customer_id": customer["id"],
                "purpose": purpose,
                "channel": PURPOSE_CHANNEL[purpose],
                "granted": granted,
                "occurred_at": when,
                "recorded_at": when,
                "source": source,
                "wording_id": wording.pk,
                "wording_hash": wording.text_hash,
                "actor_kind": "staff"
                if by_staff
                else ("system" if source == "import" else "customer"),
                "actor_user_id": user.pk if user else None,
                "actor_label": user.display_name
                if user
                else ("import" if source == "import" else "customer"),
                "evidence": evidence or {},
            }
        )

    for c in customers:
        joined: dt.datetime = c["created_at"]
        source = c["source"]
        for purpose, rate in GRANT_RATES.items():
            channel = PURPOSE_CHANNEL[purpose]
            if (channel == "email" and not c["email"]) or (channel == "sms" and not c["phone"]):
                continue
            if rng.random() >= rate:
                if (
                    purpose in (Purpose.NEWS_EMAIL, Purpose.NEWS_SMS)
                    and rng.random() < REFUSAL_RATE
                ):
                    event(c, purpose, False, joined + dt.timedelta(seconds=30), source)
                continue
            when = joined + dt.timedelta(seconds=rng.randint(20, 240))
            evidence: dict[str, Any] = {}
            if purpose == Purpose.NEWS_EMAIL:
                if joined > now - dt.timedelta(days=3) and rng.random() < 0.5:
                    pending.append(c)  # joined this week, has not clicked the link yet
                    continue
                requested = when
                when = requested + dt.timedelta(minutes=rng.randint(2, 600))
                if when > now:
                    when = now - dt.timedelta(minutes=5)
                evidence = {
                    "double_opt_in_requested_at": requested.isoformat(),
                    "double_opt_in_confirmed_at": when.isoformat(),
                }
            event(c, purpose, True, when, source, evidence)
            if rng.random() < WITHDRAW_RATE and when < now - dt.timedelta(days=2):
                later = _moment(rng, when + dt.timedelta(days=1), now)
                event(c, purpose, False, later, rng.choice(["portal", "portal", "counter"]))

    RowInserter(ConsentEvent, {}).insert(events)
    expires_delta = dt.timedelta(days=7)
    for c in pending:
        customer = Customer.objects.get(pk=c["id"])
        requested_at = c["created_at"] + dt.timedelta(minutes=2)
        confirmation = EmailConfirmation.objects.create(
            customer=customer,
            purpose=Purpose.NEWS_EMAIL,
            wording=wordings[(Purpose.NEWS_EMAIL, customer.language)],
            source=c["source"],
            actor_kind="customer",
            actor_label="customer",
            nonce=hash_token(new_token()),
            email=customer.email,
            expires_at=requested_at + expires_delta,
        )
        EmailConfirmation.objects.filter(pk=confirmation.pk).update(requested_at=requested_at)
    withdrawn = [e for e in events if not e["granted"] and e["source"] == "portal"]
    for e in withdrawn[:5]:
        audit.record(
            Actor.customer(f"customer #{e['customer_id']}"),
            "consent.withdrawn",
            object_type="customer",
            object_id=e["customer_id"],
            purpose=e["purpose"],
            source="portal",
        )


def _extensions(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    """Let each app add its own demo history (loyalty purchases, posts, sessions...): the
    loaders apps registered with ``core.demo.register`` in their ``AppConfig.ready()``."""
    for loader in core_demo.loaders():
        loader(org, customers, rng, now)
        _analyze()


def _analyze() -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load: on fresh tables it would
    otherwise guess row counts and pick nested scans that take minutes (the next app's demo
    reads what the previous one wrote)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
