"""The cross-app tenant-isolation sweep.

Two organizations, A (the victim) and B (the intruder). B's owner walks **every URL pattern**
of ``config.urls`` and B's API key calls **every API route** of the OpenAPI schema with A's ids,
and the sweep proves that nothing is read or written across: 404 (never a 403 that reveals
existence, never a 200), none of A's private data in any answer, and A's rows byte-for-byte
unchanged.

Routes are discovered, not listed: a new page or API route is swept as soon as it exists. Routes
that take no object id are still requested (GET and POST, with A's ids in the query string and
the form under the usual names) and must neither leak nor change A; routes whose only arguments
are capability tokens or fixed words are listed in ``NOT_ID_ROUTES`` with the reason.

A's rows get ids in a high range (``A_BASE``) that B's rows never reach, so "B's owner reached
the row with this id" can only mean "B's owner reached A's row". Every tenant model must have
an A row here (``test_every_tenant_model_is_seeded``): a new model needs a line in ``seed_a``.

Run with ``-s`` to print which routes were covered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from cueillette.accounts.models import Invitation, Membership, Role, User
from cueillette.apikeys.services import create_api_key
from cueillette.community.models import (
    Appeal,
    CommunitySettings,
    MeToo,
    ModerationEvent,
    Post,
    PostDraft,
    PostVersion,
    Reply,
    ThreadSubscription,
)
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import ApiKey, AuditEvent, IdempotencyRecord, Organization
from cueillette.core.tenancy import TenantModel
from cueillette.core.tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)
from cueillette.core.tokens import hash_token
from cueillette.customers.models import (
    AccessToken,
    CareNote,
    ConsentEvent,
    ConsentWording,
    Customer,
    EmailConfirmation,
    wording_hash,
)
from cueillette.loyalty.models import (
    Card,
    PointsEntry,
    Program,
    Purchase,
    Redemption,
    Refund,
    Reward,
    Tier,
)
from tests.seeding import seeded_once

A_BASE = 7_000_000
SECRETS = (
    "alpha-secret-ines@example.org",
    "alpha-secret-paul@example.org",
    "Zalphasecretine",
    "Zalphasecretpaul",
    "+33699887766",
    "Alpha secret till",
    "alpha-invitee@example.org",
    "alpha private note",
    "797979797975",  # A's loyalty card number
    "7979 7979 7975",
    "Alpha secret reward",
    "alpha-secret-receipt",
    "Alpha secret care note",
)

# Routes without an object id in the URL, and why a 404 is not the expected answer there.
# They are still requested with A's ids in the query string and the form (see module doc).
NOT_ID_ROUTES = {
    "accounts:confirm_email": "capability token (global, hashed), not an organization's id",
    "accounts:invite_accept": "capability token: holding it is the right to join",
    "accounts:password_reset_confirm": "Django's signed user token, not a tenant row",
    "customers:wording_edit": "purpose and language words, scoped to the session's organization",
    "insights:segment": "a segment's name (a fixed word), scoped to the session's business",
    "insights:call_list": "a segment's name (a fixed word), scoped to the session's business",
    "insights:contacts_csv": "a segment's name (a fixed word), scoped to the session's business",
}
# Regex routes that are not views of a row.
REGEX_ROUTES = {"api-not-found": "JSON 404 for anything else under /api/v1/"}
ID_FORM_NAMES = (
    "other",
    "other_id",
    "customer",
    "customer_id",
    "survivor",
    "organization",
    "organization_id",
    "org",
    "membership",
    "invitation",
    "key",
    "pk",
    "id",
    "referrer",  # the counter's "who sent you?" choice (customers:create)
)


@dataclass
class World:
    a: Organization
    b: Organization
    owner_a: User
    owner_b: User
    a_ids: dict[str, list[int]] = field(default_factory=dict)  # model label -> A's pks
    b_key: str = ""
    b_customer: Customer | None = None


def seed_a(a: Organization, owner_a: User, counter_a: User) -> None:
    """One row of every tenant model for A, with an id no B row can have."""
    # Each model gets its own block of 1000 ids: on SQLite, a row B creates later takes the
    # table's highest id + 1, which stays inside that table's block, never on another A id.
    blocks: dict[str, int] = {}

    def next_pk(model: type[Any]) -> int:
        label = model._meta.label
        if label not in blocks:
            blocks[label] = A_BASE + 1000 * (len(blocks) + 1)
        blocks[label] += 1
        return blocks[label]

    with tenancy.tenant_context(a):
        MembershipFactory(pk=next_pk(Membership), organization=a, user=owner_a, role=Role.OWNER)
        MembershipFactory(pk=next_pk(Membership), organization=a, user=counter_a, role=Role.COUNTER)
        ines = CustomerFactory(
            pk=next_pk(Customer),
            organization=a,
            first_name="Inès",
            last_name="Zalphasecretine",
            email=SECRETS[0],
            phone=SECRETS[4],
            notes=SECRETS[7],
        )
        paul = CustomerFactory(
            pk=next_pk(Customer),
            organization=a,
            first_name="Paul",
            last_name="Zalphasecretpaul",
            email=SECRETS[1],
        )
        # Append-only models refuse save() with a preset id; bulk_create inserts as given.
        wording = ConsentWording(
            pk=next_pk(ConsentWording),
            organization=a,
            purpose="loyalty",
            language="fr",
            version=2,
            text="Alpha v2",
            text_hash=wording_hash("Alpha v2"),
        )
        ConsentWording.objects.bulk_create([wording])
        event = ConsentEvent(
            pk=next_pk(ConsentEvent),
            organization=a,
            customer=ines,
            purpose="loyalty",
            channel="none",
            granted=True,
            occurred_at=timezone.now(),
            source="counter",
            wording=wording,
            wording_hash=wording.text_hash,
            actor_kind="staff",
            actor_label="alpha staff",
        )
        ConsentEvent.objects.bulk_create([event])
        EmailConfirmation.objects.create(
            pk=next_pk(EmailConfirmation),
            customer=paul,
            purpose="news_email",
            wording=wording,
            source="counter",
            actor_kind="staff",
            nonce=hash_token("alpha-nonce"),
            email=paul.email,
            expires_at=timezone.now() + dt.timedelta(days=7),
        )
        AccessToken.objects.create(
            pk=next_pk(AccessToken),
            customer=ines,
            token_hash=hash_token("alpha-access"),
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
        Invitation.objects.create(
            pk=next_pk(Invitation),
            email=SECRETS[6],
            role=Role.MANAGER,
            token_hash=hash_token("alpha-invitation"),
            invited_by=owner_a,
            expires_at=timezone.now() + dt.timedelta(days=7),
        )
        ApiKey.objects.create(
            pk=next_pk(ApiKey),
            name=SECRETS[5],
            prefix="a1a1a1a1",
            hashed_key=hash_token("cue_a1a1a1a1_alpha"),
            scopes=["customers:read"],
        )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    pk=next_pk(AuditEvent),
                    organization=a,
                    actor_kind="system",
                    action="alpha.seeded",
                )
            ]
        )
        IdempotencyRecord.objects.create(
            pk=next_pk(IdempotencyRecord),
            key="alpha",
            scope="POST /api/v1/customers",
            request_hash="0" * 64,
            status_code=201,
            response_body="{}",
        )
        CareNote.objects.create(
            pk=next_pk(CareNote), customer=ines, text=SECRETS[12], author_label="alpha staff"
        )
        seed_loyalty(a, ines, next_pk)
        seed_community(a, ines, owner_a, next_pk)
        # --- referrals (referrals app): Inès referred Paul; her code, rules, a thank-you.
        seed_referrals(ines, paul, owner_a, next_pk)
        # --- feedback (feedback app): Inès's survey settings and her detractor answer.
        seed_feedback(ines, owner_a, next_pk)
        # --- insights (insights app): Inès's scores, a change, her reason, a survey, a note.
        seed_insights(a, ines, owner_a, next_pk)
        # --- events (events app): a series with one session, Inès registered.
        seed_events(ines, next_pk)
        # --- imports (imports app): a file imported, a reported row, a mapping, a suppression,
        # another tool's id and an imported sale.
        seed_imports(ines, owner_a, next_pk)
        # --- webhooks (webhooks app): an endpoint and one delivery of its log.
        seed_webhooks(owner_a, next_pk)
        # --- messaging (messaging app): a segment, a campaign to Inès, its decision, settings.
        seed_messaging(ines, owner_a, next_pk)


def seed_insights(a: Organization, ines: Customer, owner_a: User, next_pk: Any) -> None:
    """A's insights: a run with Inès's scores, the reason list, a change linked to her."""
    from cueillette.insights.models import (
        BusinessChange,
        ContactNote,
        CustomerScore,
        ExitSurvey,
        InsightsSettings,
        LeaveReason,
        ModelRun,
        ReasonAttachment,
    )

    now = timezone.now()
    InsightsSettings.objects.create(pk=next_pk(InsightsSettings))
    run = ModelRun.objects.create(
        pk=next_pk(ModelRun),
        started_at=now,
        finished_at=now,
        as_of=now,
        status="ok",
        message=SECRETS[7],
        wrote_scores=True,
    )
    CustomerScore.objects.create(
        pk=next_pk(CustomerScore),
        run=run,
        customer=ines,
        purchases=3,
        first_purchase_at=now - dt.timedelta(days=90),
        last_purchase_at=now - dt.timedelta(days=60),
        total_spend="123.45",
        average_spend="41.15",
        recency_score=1,
        frequency_score=3,
        value_score=3,
        fm_score=3,
        segment="at_risk",
        usual_gap_days=15.0,
        lapsed=True,
        lapsed_at=now - dt.timedelta(days=15),
        monthly_value="61.72",
        p_alive=0.4,
        value_at_stake="444.00",
    )
    reason = LeaveReason.objects.create(
        pk=next_pk(LeaveReason), code="alpha", label_fr=SECRETS[7], label_en=SECRETS[7]
    )
    change = BusinessChange.objects.create(
        pk=next_pk(BusinessChange),
        occurred_on=(now - dt.timedelta(days=61)).date(),
        title=SECRETS[7],
        reason=reason,
    )
    survey = ExitSurvey.objects.create(
        pk=next_pk(ExitSurvey),
        customer=ines,
        consent=ConsentEvent.objects.filter(customer=ines).first(),
        token_hash=hash_token("alpha-exit-survey"),
        sent_at=now,
        expires_at=now + dt.timedelta(days=30),
    )
    # Append-only rows refuse save() with a preset id; bulk_create inserts as given.
    ReasonAttachment.objects.bulk_create(
        [
            ReasonAttachment(
                pk=next_pk(ReasonAttachment),
                organization=a,
                customer=ines,
                source="change",
                reason=reason,
                change=change,
                comment=SECRETS[7],
                created_at=now,
                survey=survey,
            )
        ]
    )
    ContactNote.objects.bulk_create(
        [
            ContactNote(
                pk=next_pk(ContactNote),
                organization=a,
                customer=ines,
                text=SECRETS[7],
                author=owner_a,
                created_at=now,
            )
        ]
    )


def seed_events(ines: Customer, next_pk: Any) -> None:
    """A's sessions: a weekly series, its session, and Inès's registration with her answer."""
    from cueillette.events.models import Registration, Series, Session

    now = timezone.now()
    series = Series.objects.create(
        pk=next_pk(Series),
        title="Alpha yoga series",
        local_time=dt.time(20, 0),
        first_date=(now + dt.timedelta(days=3)).date(),
        weeks=1,
    )
    session = Session.objects.create(
        pk=next_pk(Session),
        series=series,
        title="Alpha yoga",
        location="Alpha secret hall",
        starts_at=now + dt.timedelta(days=3),
        capacity=5,
        question="Alpha question?",
    )
    Registration.objects.create(
        pk=next_pk(Registration),
        session=session,
        customer=ines,
        name="Inès Zalphasecretine",
        email=SECRETS[0],
        answer=SECRETS[7],
        status="confirmed",
    )


def seed_webhooks(owner_a: User, next_pk: Any) -> None:
    from cueillette.webhooks.models import Delivery, Endpoint

    endpoint = Endpoint.objects.create(
        pk=next_pk(Endpoint), url="https://alpha.example.org/hook", events=["customer.joined"],
        secret="whsec_alpha_secret", created_by=owner_a, description=SECRETS[5],
    )  # fmt: skip
    Delivery.objects.create(
        pk=next_pk(Delivery), endpoint=endpoint, event="customer.joined",
        payload={"data": {"email": SECRETS[0]}}, status="delivered",
    )  # fmt: skip


def seed_imports(ines: Customer, owner_a: User, next_pk: Any) -> None:
    from decimal import Decimal

    from cueillette.imports.models import (
        ColumnMapping,
        ExternalCustomerId,
        Import,
        ImportedSale,
        ImportIssue,
        Suppression,
    )

    imp = Import.objects.create(
        pk=next_pk(Import),
        kind="customers",
        layout="csv",
        filename="alpha.csv",
        file_path="/nonexistent/alpha.csv",
        file_hash="a" * 64,
        status="done",
        created_by=owner_a,
    )
    ImportIssue.objects.create(
        pk=next_pk(ImportIssue), import_run=imp, line=2, field="email", code="invalid",
        message=SECRETS[7], severity="error",
    )  # fmt: skip
    ColumnMapping.objects.create(
        pk=next_pk(ColumnMapping), signature="a" * 64, headers=["x"], mapping={"x": ""}
    )
    Suppression.objects.create(
        pk=next_pk(Suppression), email=SECRETS[0], reason="cleaned", customer=ines
    )
    ExternalCustomerId.objects.create(
        pk=next_pk(ExternalCustomerId), customer=ines, system="shopify", external_id="alpha-1"
    )
    ImportedSale.objects.create(
        pk=next_pk(ImportedSale), row_key="alpha:1", kind="sale", amount=Decimal("9.99"),
        occurred_at=timezone.now(), customer=ines, transaction_id=SECRETS[11],
    )  # fmt: skip


def seed_messaging(ines: Customer, owner_a: User, next_pk: Any) -> None:
    from django.utils import timezone

    from cueillette.messaging.models import (
        AutomaticMessage,
        Campaign,
        Delivery,
        Preference,
        PressureSettings,
        Segment,
        Suppression,
    )

    now = timezone.now()
    segment = Segment.objects.create(
        pk=next_pk(Segment), name="Alpha segment", filters={"tags": ["alpha"]}
    )
    campaign = Campaign.objects.create(
        pk=next_pk(Campaign),
        name="Alpha campaign",
        subject_fr="Alpha secret subject",
        body_fr="Alpha body",
        segment=segment,
        created_by=owner_a,
    )
    Delivery.objects.create(
        pk=next_pk(Delivery),
        customer=ines,
        campaign=campaign,
        kind="campaign",
        klass="marketing",
        purpose="news_email",
        address=SECRETS[0],
        subject="Alpha secret subject",
        status="sent",
        reason="allowed",
        decided_at=now,
        sent_at=now,
    )
    Suppression.objects.create(
        pk=next_pk(Suppression), address="alpha-bounced@example.org", reason="hard_bounce"
    )
    Preference.objects.create(pk=next_pk(Preference), customer=ines, fewer=True)
    PressureSettings.objects.create(pk=next_pk(PressureSettings), max_marketing=3)
    AutomaticMessage.objects.create(
        pk=next_pk(AutomaticMessage), kind="welcome", subject_fr="Alpha hello"
    )


def seed_feedback(ines: Customer, owner_a: User, next_pk: Any) -> None:
    """A's NPS: settings, and a detractor's answer with a comment and a follow-up note."""
    from cueillette.feedback.models import FollowUpNote, Survey, SurveySettings

    now = timezone.now()
    SurveySettings.objects.create(pk=next_pk(SurveySettings), question_fr="Alpha question")
    survey = Survey.objects.create(
        pk=next_pk(Survey),
        customer=ines,
        purchase=Purchase.objects.first(),
        consent=ConsentEvent.objects.filter(customer=ines).first(),
        sent_at=now,
        token_hash=hash_token("alpha-survey"),
        expires_at=now + dt.timedelta(days=14),
        answered_at=now,
        score=2,
        comment=SECRETS[7],
        follow_up="to_contact",
        follow_up_note="alpha follow-up note",
        follow_up_by=owner_a,
        follow_up_at=now,
    )
    # An append-only row: save() refuses preset ids, bulk_create inserts as given.
    FollowUpNote.objects.bulk_create(
        [
            FollowUpNote(
                pk=next_pk(FollowUpNote),
                organization=survey.organization,
                survey=survey,
                text="alpha follow-up note",
                status="to_contact",
                author=owner_a,
                created_at=now,
            )
        ]
    )


def seed_referrals(ines: Customer, paul: Customer, owner_a: User, next_pk: Any) -> None:
    """A's referral program: Inès's code, her referral of Paul, a thank-you to her."""
    from cueillette.referrals.models import Referral, ReferralCode, ReferralProgram, ThankYou

    ReferralProgram.objects.create(pk=next_pk(ReferralProgram))
    ReferralCode.objects.create(
        pk=next_pk(ReferralCode), customer=ines, code="ALPHA234", token="alpha-secret-token"
    )
    Referral.objects.create(
        pk=next_pk(Referral),
        referrer=ines,
        friend=paul,
        source="counter",
        reason_code="awaiting_review",
        flags=["existing"],
        under_review=True,
        created_at=timezone.now(),
    )
    ThankYou.objects.create(
        pk=next_pk(ThankYou), advocate=ines, kind="message", message=SECRETS[7], created_by=owner_a
    )


def seed_community(a: Organization, ines: Customer, owner_a: User, next_pk: Any) -> None:
    """A's community page: a hidden post of Inès with a version, a reply, an appeal."""
    now = timezone.now()
    post = Post.objects.create(
        pk=next_pk(Post),
        kind="complaint",
        rating=2,
        author=ines,
        display_name="Inès Z.",
        text=SECRETS[7],
        created_at=now,
        hidden=True,
    )
    # Versions, replies and the moderation log only append: bulk_create inserts as given.
    PostVersion.objects.bulk_create(
        [PostVersion(pk=next_pk(PostVersion), organization=a, post=post, number=1,
                     text=SECRETS[7], created_at=now)]
    )  # fmt: skip
    Reply.objects.bulk_create(
        [Reply(pk=next_pk(Reply), organization=a, post=post, author=owner_a,
               author_role="owner", text="Alpha reply", created_at=now)]
    )  # fmt: skip
    hide = ModerationEvent(
        pk=next_pk(ModerationEvent), organization=a, post=post, action="hide",
        reason="spam_advertising", actor_user=owner_a, actor_role="owner", created_at=now,
    )  # fmt: skip
    ModerationEvent.objects.bulk_create([hide])
    Appeal.objects.create(
        pk=next_pk(Appeal), post=post, hide_event=hide, author=ines, created_at=now
    )
    MeToo.objects.create(pk=next_pk(MeToo), post=post, customer=ines, created_at=now)
    ThreadSubscription.objects.create(
        pk=next_pk(ThreadSubscription), post=post, customer=ines, created_at=now
    )
    # A first post waiting for its author's email confirmation (public side of the page).
    PostDraft.objects.create(
        pk=next_pk(PostDraft), email=SECRETS[0], display_name="Inès Z.", kind="question",
        text=SECRETS[7], token_hash=hash_token("alpha-draft"), created_at=now,
        expires_at=now + dt.timedelta(hours=48),
    )  # fmt: skip
    # Staff side of the community page: A's own theme list (its theme name is a secret).
    CommunitySettings.objects.create(
        pk=next_pk(CommunitySettings), themes={SECRETS[10]: ["alpha"]}, digest_enabled=True
    )


def seed_loyalty(a: Organization, ines: Customer, next_pk: Any) -> None:
    """A's loyalty program: a card with a purchase, a partial refund and a redemption."""
    now = timezone.now()
    Program.objects.create(pk=next_pk(Program), organization=a, name="Alpha card")
    Tier.objects.create(pk=next_pk(Tier), code="alpha", name="Alpha tier", threshold=100)
    card = Card.objects.create(
        pk=next_pk(Card), customer=ines, number="797979797975", opened_at=now, balance=42
    )
    reward = Reward.objects.create(pk=next_pk(Reward), name=SECRETS[10], cost=3, stock=5)
    purchase = Purchase.objects.create(
        pk=next_pk(Purchase),
        card=card,
        receipt_id=SECRETS[11],
        amount="50.00",
        currency="EUR",
        occurred_at=now,
        points=50,
        refunded_amount="5.00",
        points_taken_back=5,
        source="api",
    )
    refund = Refund.objects.create(
        pk=next_pk(Refund),
        purchase=purchase,
        refund_id="alpha-refund",
        amount="5.00",
        points=5,
        occurred_at=now,
        source="api",
    )
    redemption = Redemption.objects.create(
        pk=next_pk(Redemption), card=card, reward=reward, points=3, occurred_at=now, source="api"
    )
    # The ledger only appends: save() refuses preset ids, bulk_create inserts as given.
    earned = PointsEntry(
        pk=next_pk(PointsEntry),
        organization=a,
        card=card,
        kind="purchase",
        points=50,
        occurred_at=now,
        expires_at=now + dt.timedelta(days=365),
        purchase=purchase,
    )
    PointsEntry.objects.bulk_create(
        [
            earned,
            PointsEntry(
                pk=next_pk(PointsEntry),
                organization=a,
                card=card,
                kind="refund",
                points=-5,
                occurred_at=now,
                purchase=purchase,
                refund=refund,
                corrects=earned,
            ),
            PointsEntry(
                pk=next_pk(PointsEntry),
                organization=a,
                card=card,
                kind="redemption",
                points=-3,
                occurred_at=now,
                redemption=redemption,
            ),
        ]
    )


def tenant_models() -> list[type[TenantModel]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel) and not m._meta.abstract and not m._meta.proxy
    ]


def snapshot(org: Organization) -> dict[str, Any]:
    """Every row of ``org`` in every tenant model, plus the organization itself."""
    # The sweep compares one organization's rows across requests: it reads outside any tenant.
    out: dict[str, Any] = {"organization": Organization.objects.filter(pk=org.pk).values().get()}
    for model in tenant_models():
        rows = model.objects.unscoped().filter(organization=org).order_by("pk").values()
        out[model._meta.label] = [json.dumps(r, default=str, sort_keys=True) for r in rows]
    return out


def build_world() -> World:
    """A and B with their members and rows (see the module doc); B's API key may do everything."""
    cache.clear()
    a = OrganizationFactory(name="Alpha", slug="alpha-victim")
    b = OrganizationFactory(name="Beta", slug="beta-intruder")
    owner_a = UserFactory(email="owner-a@example.org")
    counter_a = UserFactory(email="counter-a@example.org")
    owner_b = UserFactory(email="owner-b@example.org")
    # B first: its rows keep low ids (on SQLite a new row takes the table's highest id + 1).
    MembershipFactory(organization=b, user=owner_b, role=Role.OWNER)
    b_customer = CustomerFactory(organization=b, first_name="Bea", last_name="Beta")
    with tenancy.tenant_context(b):
        _key, raw = create_api_key("Beta till", "write", actor=Actor.system("sweep"))
    seed_a(a, owner_a, counter_a)
    w = World(a=a, b=b, owner_a=owner_a, owner_b=owner_b, b_key=raw, b_customer=b_customer)
    b_pks: set[int] = set()
    for model in tenant_models():
        b_pks |= set(model.objects.unscoped().exclude(organization=a).values_list("pk", flat=True))
        pks = model.objects.unscoped().filter(organization=a).values_list("pk", flat=True)
        w.a_ids[model._meta.label] = sorted(set(pks) - b_pks)
    return w


@pytest.fixture(scope="module")
def _module_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with seeded_once(django_db_blocker, build_world) as w:
        yield w


@pytest.fixture
def world(_module_world: World, db: None) -> World:
    cache.clear()
    return _module_world


def a_candidates(w: World) -> list[int]:
    """A's ids that no B row has (high range), one list for every route."""
    ids = {pk for pks in w.a_ids.values() for pk in pks if pk >= A_BASE}
    return sorted(ids)


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def assert_no_secret(response: Any, where: str) -> None:
    text = body_of(response).decode("utf-8", "replace")
    for secret in SECRETS:
        assert secret not in text, f"{where} shows A's private data: {secret!r}"


# Keyed by more than the id: ids come back in the next module's rows.
_sessions: dict[tuple[int, str, str], dict[str, Any]] = {}
_handlers: list[Any] = []


def _shared_handler(client: Client) -> Any:
    if not _handlers:
        _handlers.append(client.handler)
    return _handlers[0]


def staff_client(user: User) -> Client:
    """A client logged in as ``user``, in a session of its own (a request may log out or
    switch the organization). The first login's session is copied: one INSERT instead of a
    whole login for each of the sweep's thousands of requests."""
    from importlib import import_module

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    c = Client()
    # One request handler for all: a new one loads the middleware again (whitenoise scans the
    # static files), which cost the sweep more than its requests to 404 pages.
    c.handler = _shared_handler(c)
    who = (user.pk, user.email, user.password)
    if who not in _sessions:
        c.force_login(user)
        _sessions[who] = dict(store_class(c.cookies[settings.SESSION_COOKIE_NAME].value).load())
        return c
    store = store_class()
    store.update(_sessions[who])
    store.create()
    c.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return c


# --------------------------------------------------------------------------- URL discovery


@dataclass
class Route:
    name: str
    route: str  # "app/customers/<int:pk>/edit/"
    kwargs: dict[str, str]  # name -> converter

    def build(self, values: dict[str, Any]) -> str:
        def sub(match: re.Match[str]) -> str:
            return str(values[match.group(2)])

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, self.route)


def walk_urls() -> Iterator[Route | tuple[str, str]]:
    """Every URL pattern: ``Route`` for path() patterns, ``(name, regex)`` for re_path()."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route | tuple[str, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                if not isinstance(p.pattern, RoutePattern):
                    yield (f"{ns}:*", str(p.pattern))
                    continue
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace else (p.name or "")
                if not isinstance(p.pattern, RoutePattern):
                    yield (name, str(p.pattern))
                    continue
                route = prefix + str(p.pattern)
                kwargs = dict(
                    (m.group(2), m.group(1) or "str")
                    for m in re.finditer(r"<(?:(\w+):)?(\w+)>", route)
                )
                yield Route(name=name, route=route, kwargs=kwargs)

    yield from walk(get_resolver().url_patterns, "", "")


def is_api(route: Route) -> bool:
    return route.route.startswith("api/")


# --------------------------------------------------------------------------- (1) pages


def _namespace(route: Route) -> str:
    return route.name.split(":", 1)[0] if ":" in route.name else "(root)"


def page_routes() -> list[Route]:
    return [r for r in walk_urls() if isinstance(r, Route) and not is_api(r)]


# The sweep is one test per URL namespace, so that pytest-xdist can share it between workers.
PAGE_NAMESPACES = sorted({_namespace(r) for r in page_routes()})


def test_the_url_walk_finds_every_kind_of_route() -> None:
    regex = [item for item in walk_urls() if isinstance(item, tuple)]
    for name, pattern in regex:
        assert name in REGEX_ROUTES or name.startswith("api:"), (
            f"regex route {name} {pattern}: add it to REGEX_ROUTES with a reason"
        )
    assert any(conv == "int" for r in page_routes() for conv in r.kwargs.values()), (
        "no page takes an id? the URL walk found nothing"
    )
    assert len(PAGE_NAMESPACES) > 3


@pytest.mark.django_db
@pytest.mark.parametrize("namespace", PAGE_NAMESPACES)
def test_pages_never_reach_another_organization(world: World, namespace: str) -> None:
    w = world
    candidates = a_candidates(w)
    assert candidates, "A has no rows in the high id range"
    before = snapshot(w.a)
    covered: dict[str, list[str]] = {"id": [], "public": [], "no id": [], "allowed": []}

    for route in page_routes():
        if _namespace(route) != namespace:
            continue
        int_args = [k for k, conv in route.kwargs.items() if conv == "int"]
        public = "slug" in route.kwargs

        if int_args:
            # Every id of A, in every int argument: 404 for GET and POST, never 403 or 200.
            client: Client | None = None
            for pk in candidates:
                values = {k: pk for k in int_args}
                values.update({k: _word(k, w) for k in route.kwargs if k not in int_args})
                if public:
                    # A public page of A's row under A's slug is public on purpose (a community
                    # thread): it must not show A's private data; under B's slug it must 404.
                    response = staff_client(w.owner_b).get(route.build(values))
                    assert response.status_code < 500, f"{route.build(values)}"
                    assert_no_secret(response, f"GET {route.build(values)}")
                    values["slug"] = w.b.slug
                url = route.build(values)
                statuses = []
                for method in ("get", "post"):
                    # A 404 or 405 left the session as it was: the client is reused then.
                    if client is None:
                        client = staff_client(w.owner_b)
                    response = getattr(client, method)(url, _id_form(pk))
                    if response.status_code not in (404, 405):
                        client = None
                    statuses.append(response.status_code)
                    assert response.status_code in (404, 405), (
                        f"{method.upper()} {url} ({route.name}) as B's owner with A's id "
                        f"answered {response.status_code}, expected 404"
                    )
                    assert_no_secret(response, f"{method.upper()} {url}")
                assert 404 in statuses, f"{url}: neither GET nor POST answered 404"
            # Once per route, not per id: the snapshot reads every tenant table.
            assert snapshot(w.a) == before, f"{route.route} ({route.name}) changed A's data"
            covered["id"].append(route.name)
        elif public:
            # Public pages are reached by slug on purpose; B's session must not see A's
            # private data there, nor change anything.
            values = {k: _word(k, w) for k in route.kwargs}
            url = route.build(values)
            for method in ("get", "post"):
                client = staff_client(w.owner_b)
                response = getattr(client, method)(url, _id_form(candidates[0]))
                assert response.status_code < 500, f"{method.upper()} {url}: {response.status_code}"
                assert_no_secret(response, f"{method.upper()} {url}")
            assert snapshot(w.a) == before, f"{url} changed A's data"
            covered["public"].append(route.name)
        else:
            if route.kwargs:
                assert route.name in NOT_ID_ROUTES, (
                    f"{route.name} ({route.route}) takes {route.kwargs}: sweep it or add it to "
                    "NOT_ID_ROUTES with a reason"
                )
                covered["allowed"].append(route.name)
            else:
                covered["no id"].append(route.name)
            values = {k: _word(k, w) for k in route.kwargs}
            url = route.build(values)
            _sweep_without_id(url, w, candidates)
            assert snapshot(w.a) == before, f"{url} changed A's data"

    _print_coverage(f"pages of {namespace}", covered)


def _word(name: str, w: World) -> str:
    """A value for a non-int URL argument."""
    return {
        "slug": w.a.slug,
        "purpose": "loyalty",
        "language": "fr",
    }.get(name, "not-a-real-token")


def _id_form(pk: int) -> dict[str, Any]:
    return dict.fromkeys(ID_FORM_NAMES, pk)


def _sweep_without_id(url: str, w: World, candidates: list[int]) -> None:
    """A route without an id: A's ids in the query string and the form must not leak A."""
    ids = sorted({*candidates[:6], w.a.pk})
    for pk in ids:
        for method in ("get", "post"):
            client = staff_client(w.owner_b)
            response = getattr(client, method)(url, _id_form(pk))
            assert response.status_code < 500, f"{method.upper()} {url}: {response.status_code}"
            assert_no_secret(response, f"{method.upper()} {url}?{pk}")
            # A form that switches the organization must not have switched B into A. The
            # organization is in the session: a GET that did not touch it cannot have.
            if method == "get" and settings.SESSION_COOKIE_NAME not in response.cookies:
                continue
            after = client.get("/app/customers/")
            assert_no_secret(after, f"the customers page after {method.upper()} {url}")


def _print_coverage(kind: str, covered: dict[str, list[str]]) -> None:
    print(f"\ntenant isolation sweep, {kind}:")
    for group, names in covered.items():
        print(f"  {group} ({len(names)}): {', '.join(sorted(set(names)))}")


# --------------------------------------------------------------------------- (2) API


def _api_schema() -> dict[str, Any]:
    get_resolver().url_patterns  # loads config.urls, which mounts the routers
    from cueillette.api import api

    return api.get_openapi_schema(path_params={})


def _example(schema: dict[str, Any], root: dict[str, Any], name: str, pk: int) -> Any:
    """A minimal valid value for a JSON schema, with ``pk`` in every id-like field."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        return _example(root["components"]["schemas"][ref], root, name, pk)
    for key in ("anyOf", "oneOf", "allOf"):
        # Alternatives of type; an object's own anyOf/oneOf are rules across its fields.
        if key in schema and "properties" not in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], root, name, pk)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {
            k: _example(v, root, k, pk)
            for k, v in props.items()
            if k in required or k.endswith("_id") or k == "id"
        }
    if kind == "integer":
        return pk if (name.endswith("_id") or name == "id") else 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if "enum" in schema:
        return schema["enum"][0]
    return {"purpose": "loyalty", "language": "fr", "source": "api"}.get(name, "x")


_idempotency_keys = itertools.count(1)


def _body(op: dict[str, Any], root: dict[str, Any], pk: int) -> Any:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _example(content["application/json"]["schema"], root, "body", pk)


def _call(client: Client, method: str, url: str, key: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    if method in ("post", "patch"):
        # Some writes (loyalty) refuse to run without one: send a fresh key so that they do.
        headers["Idempotency-Key"] = f"sweep-{next(_idempotency_keys)}"
    if body is None:
        return getattr(client, method)(url, headers=headers)
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.mark.django_db
def test_api_never_reaches_another_organization(world: World) -> None:
    w = world
    schema = _api_schema()
    candidates = a_candidates(w)
    before = snapshot(w.a)
    client = Client()
    covered: dict[str, list[str]] = {"id": [], "body id": [], "no id": []}
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            path_params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            if path_params:
                for pk in candidates:
                    url = path.format(**dict.fromkeys(path_params, pk))
                    response = _call(client, method, url, w.b_key, _body(op, schema, pk))
                    assert response.status_code == 404, (
                        f"{method.upper()} {url} with B's key answered {response.status_code}: "
                        f"{response.content[:300]!r}"
                    )
                    assert response.json()["error"]["code"] == "not_found"
                assert snapshot(w.a) == before, f"{label} changed A's data"
                covered["id"].append(label)
                # B's own row in the path, A's ids in the body.
                body = _body(op, schema, candidates[0])
                if isinstance(body, dict) and any(k.endswith("_id") for k in body):
                    assert w.b_customer is not None
                    url = path.format(**dict.fromkeys(path_params, w.b_customer.pk))
                    for pk in candidates:
                        response = _call(client, method, url, w.b_key, _body(op, schema, pk))
                        assert response.status_code == 404, (
                            f"{method.upper()} {url} with A's id {pk} in the body answered "
                            f"{response.status_code}"
                        )
                    assert snapshot(w.a) == before, f"{label} with A's ids in the body"
                    covered["body id"].append(label)
            else:
                # No object id: lists must not show A, creations must not touch A.
                response = _call(client, method, path, w.b_key, _body(op, schema, candidates[0]))
                assert response.status_code < 500, f"{label}: {response.status_code}"
                assert_no_secret(response, label)
                if method == "get":
                    for q in ("Zalphasecret", "alpha-secret", "+33699887766"):
                        found = client.get(
                            path, {"q": q}, headers={"Authorization": f"Bearer {w.b_key}"}
                        )
                        assert_no_secret(found, f"{label}?q={q}")
                assert snapshot(w.a) == before, f"{label} changed A's data"
                covered["no id"].append(label)
    _print_coverage("API", covered)
    assert covered["id"], "no API route takes an id? the schema walk found nothing"


@pytest.mark.django_db
def test_loyalty_api_by_card_number_and_receipt(world: World) -> None:
    """Loyalty routes also take A's card number and receipt id (not ids): still nothing."""
    w = world
    before = snapshot(w.a)
    client = Client()
    number, receipt = "797979797975", SECRETS[11]
    reward = w.a_ids["loyalty.Reward"][0]
    for method, url, body in (
        ("get", f"/api/v1/cards/{number}", None),
        ("get", "/api/v1/cards/7979%207979%207975", None),
        ("get", f"/api/v1/cards/{number}/history", None),
        ("get", f"/api/v1/rewards?card_number={number}", None),
        ("post", "/api/v1/purchases", {"card_number": number, "amount": "5", "receipt_id": "b"}),
        ("post", "/api/v1/purchases", {"card_number": "7", "amount": "5", "receipt_id": receipt}),
        ("post", "/api/v1/refunds", {"receipt_id": receipt}),
        ("post", "/api/v1/redemptions", {"card_number": number, "reward_id": reward}),
    ):
        response = _call(client, method, url, w.b_key, body)
        assert response.status_code == 404, f"{method.upper()} {url} {body}: {response.content!r}"
        assert_no_secret(response, f"{method.upper()} {url}")
        assert snapshot(w.a) == before, f"{method.upper()} {url} changed A's data"


# --------------------------------------------------------------------------- the seed itself


@pytest.mark.django_db
def test_every_tenant_model_is_seeded(world: World) -> None:
    """A new tenant model needs an A row in seed_a, or the sweep would prove nothing for it."""
    missing = [label for label, pks in world.a_ids.items() if not any(pk >= A_BASE for pk in pks)]
    assert not missing, f"add a row of {missing} to seed_a() in tests/test_tenant_isolation.py"


@pytest.mark.django_db
def test_the_sweep_would_see_a_leak(world: World) -> None:
    """The checks must be able to fail: A's owner does see A's data through the same doors."""
    ines = world.a_ids["customers.Customer"][0]
    response = staff_client(world.owner_a).get(f"/app/customers/{ines}/")
    assert response.status_code == 200
    with pytest.raises(AssertionError):
        assert_no_secret(response, "A's own page")
    before = snapshot(world.a)
    with tenancy.tenant_context(world.a):
        Customer.objects.filter(pk=ines).update(notes="changed")
    assert snapshot(world.a) != before
    assert Membership.objects.unscoped().filter(organization=world.b).count() == 1
