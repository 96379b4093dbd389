"""The events actions: registering, the waiting list, capacity cuts, the door, afterwards."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from cueillette.accounts.models import Membership
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory, MembershipFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer, Purpose, Source
from cueillette.events import services
from cueillette.events.models import Registration, RegStatus, Session
from cueillette.events.tests.factories import SessionFactory
from cueillette.loyalty.models import Card, EntryKind, PointsEntry

NOW = timezone.now()


@pytest.fixture
def staff(tenant: Organization, owner: Any) -> Membership:
    return Membership.objects.get(user=owner)


@pytest.fixture
def session(tenant: Organization) -> Session:
    return SessionFactory(organization=tenant, capacity=2, points_for_attending=10)


def _confirm_url_token(mail: Any) -> str:
    match = re.search(r"/sessions/confirm/([^/\s]+)/", mail.body)
    assert match, mail.body
    return match.group(1)


def visitor_registers(
    session: Session,
    email: str,
    capture: Any,
    mailoutbox: list[Any],
    *,
    consents: dict[str, Any] | None = None,
    first_name: str = "Zoé",
) -> services.RegistrationResult:
    before = len(mailoutbox)
    with capture(execute=True):
        services.request_registration(
            session,
            services.RegistrationRequest(
                first_name=first_name, last_name="Testard", email=email, consents=consents or {}
            ),
        )
    assert len(mailoutbox) == before + 1
    token = _confirm_url_token(mailoutbox[-1])
    with capture(execute=True):
        return services.confirm_registration(token)


def test_a_visitor_registers_by_confirming_their_email_with_only_the_consents_ticked(
    session: Session, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    wordings = customer_services.current_wordings("fr")
    result = visitor_registers(
        session,
        "zoe@example.org",
        django_capture_on_commit_callbacks,
        mailoutbox,
        consents={Purpose.FEEDBACK: wordings[Purpose.FEEDBACK]},
    )
    assert result.placed == "seat"
    reg = Registration.objects.get(pk=result.registration.pk)
    assert reg.status == RegStatus.CONFIRMED
    customer = Customer.objects.get(email="zoe@example.org")
    assert reg.customer == customer and customer.source == Source.EVENT
    events = list(ConsentEvent.objects.filter(customer=customer))
    assert [(e.purpose, e.granted, e.source) for e in events] == [
        (Purpose.FEEDBACK, True, Source.EVENT)
    ]
    assert events[0].wording == wordings[Purpose.FEEDBACK]
    assert "You are registered" in mailoutbox[-1].subject or "inscrit" in mailoutbox[-1].subject


def test_nothing_is_recorded_before_the_email_is_confirmed_and_the_link_works_once(
    session: Session, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.request_registration(
            session, services.RegistrationRequest(first_name="Zoé", email="zoe@example.org")
        )
    assert not Customer.objects.filter(email="zoe@example.org").exists()
    assert services.seats_taken(session) == 0
    token = _confirm_url_token(mailoutbox[-1])
    services.confirm_registration(token)
    with pytest.raises(ServiceError) as err:
        services.confirm_registration(token)
    assert err.value.code == "token_used"
    assert services.seats_taken(session) == 1


def test_joining_the_loyalty_program_on_registration_gives_the_card_at_once(
    session: Session, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    wordings = customer_services.current_wordings("fr")
    visitor_registers(
        session,
        "card@example.org",
        django_capture_on_commit_callbacks,
        mailoutbox,
        consents={Purpose.LOYALTY: wordings[Purpose.LOYALTY]},
    )
    customer = Customer.objects.get(email="card@example.org")
    assert Card.objects.filter(customer=customer, status="open").exists()


def test_bad_input_names_the_field_and_writes_nothing(session: Session) -> None:
    with pytest.raises(ServiceError) as err:
        services.request_registration(
            session, services.RegistrationRequest(first_name="", email="not-an-email")
        )
    fields = {e["field"] for e in err.value.errors}
    assert fields == {"first_name", "email"}
    assert not Registration.objects.exists()


def test_registration_after_the_start_or_on_a_cancelled_session_is_refused(
    tenant: Organization, staff: Membership
) -> None:
    started = SessionFactory(organization=tenant, starts_at=NOW - dt.timedelta(minutes=5))
    with pytest.raises(ServiceError) as err:
        services.request_registration(
            started, services.RegistrationRequest(first_name="A", email="a@example.org")
        )
    assert err.value.code == "already_started"
    later = SessionFactory(organization=tenant)
    services.cancel_session(staff, later)
    with pytest.raises(ServiceError) as err:
        services.request_registration(
            later, services.RegistrationRequest(first_name="A", email="a@example.org")
        )
    assert err.value.code == "session_cancelled"


def test_full_without_a_waiting_list_is_refused_before_any_email(
    tenant: Organization, mailoutbox: list[Any]
) -> None:
    session = SessionFactory(organization=tenant, capacity=1, waitlist_enabled=False)
    customer = CustomerFactory(organization=tenant)
    services.register_customer(session, customer, actor=Actor.customer())
    with pytest.raises(ServiceError) as err:
        services.request_registration(
            session, services.RegistrationRequest(first_name="B", email="b@example.org")
        )
    assert err.value.code == "full" and err.value.field == "session"
    assert Registration.objects.count() == 1


def test_a_duplicate_registration_is_refused_for_a_known_customer_and_silent_for_a_visitor(
    session: Session, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    customer = CustomerFactory(organization=session.organization, email="dup@example.org")
    services.register_customer(session, customer, actor=Actor.customer())
    with pytest.raises(ServiceError) as err:
        services.register_customer(session, customer, actor=Actor.customer())
    assert err.value.code == "already_registered" and err.value.status == 409
    # A visitor typing that address learns nothing on the page; the address gets its link.
    with django_capture_on_commit_callbacks(execute=True):
        result = services.request_registration(
            session, services.RegistrationRequest(first_name="X", email="dup@example.org")
        )
    assert result.placed == "pending"
    assert "already registered" in mailoutbox[-1].subject or "déjà" in mailoutbox[-1].subject
    assert Registration.objects.filter(session=session).count() == 1


def _customers(org: Organization, n: int) -> list[Customer]:
    return [CustomerFactory(organization=org, first_name=f"P{i}") for i in range(n)]


def test_the_waiting_list_offers_a_freed_seat_to_the_first_and_passes_it_on_when_it_lapses(
    session: Session, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    a, b, c, d = _customers(session.organization, 4)
    actor = Actor.customer()
    ra = services.register_customer(session, a, actor=actor).registration
    services.register_customer(session, b, actor=actor)
    rc = services.register_customer(session, c, actor=actor)
    rd = services.register_customer(session, d, actor=actor)
    assert (rc.placed, rc.position, rd.position) == ("waitlist", 1, 2)
    t0 = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(ra, actor=actor, now=t0)
    rc_reg = Registration.objects.get(pk=rc.registration.pk)
    assert rc_reg.status == RegStatus.OFFERED
    assert Registration.objects.get(pk=rd.registration.pk).status == RegStatus.WAITLISTED
    assert services.seats_taken(session) == 2  # the offered seat is held, never given twice
    assert "seat is free" in mailoutbox[-1].subject or "place" in mailoutbox[-1].subject.lower()
    # The offer lapses: the seat passes to the next person, one at a time.
    assert rc_reg.offer_expires_at is not None
    later = rc_reg.offer_expires_at + dt.timedelta(minutes=1)
    assert services.expire_offers(later) == 1
    assert Registration.objects.get(pk=rc.registration.pk).status == RegStatus.OFFER_EXPIRED
    rd_reg = Registration.objects.get(pk=rd.registration.pk)
    assert rd_reg.status == RegStatus.OFFERED
    with pytest.raises(ServiceError) as err:
        services.accept_offer(Registration.objects.get(pk=rc.registration.pk), now=later)
    assert err.value.code == "bad_transition"
    services.accept_offer(rd_reg, now=later)
    assert Registration.objects.get(pk=rd.registration.pk).status == RegStatus.CONFIRMED
    assert services.seats_taken(session) == 2


def test_accepting_after_the_offer_lapsed_is_refused_and_passes_the_seat_on(
    session: Session,
) -> None:
    a, b, c, d = _customers(session.organization, 4)
    actor = Actor.customer()
    ra = services.register_customer(session, a, actor=actor).registration
    services.register_customer(session, b, actor=actor)
    rc = services.register_customer(session, c, actor=actor).registration
    rd = services.register_customer(session, d, actor=actor).registration
    services.cancel_registration(ra, actor=actor)
    rc.refresh_from_db()
    assert rc.offer_expires_at is not None
    with pytest.raises(ServiceError) as err:
        services.accept_offer(rc, now=rc.offer_expires_at + dt.timedelta(seconds=1))
    assert err.value.code == "offer_expired" and err.value.status == 410
    rd.refresh_from_db()
    assert rd.status == RegStatus.OFFERED


def test_lowering_the_capacity_moves_the_latest_to_the_head_of_the_list_and_tells_them(
    tenant: Organization,
    staff: Membership,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    session = SessionFactory(organization=tenant, capacity=3)
    people = _customers(tenant, 4)
    regs = [
        services.register_customer(session, p, actor=Actor.customer()).registration for p in people
    ]
    inp = services.SessionInput(
        title=session.title, starts_at=session.starts_at, capacity=1, location=session.location
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.update_session(staff, session, inp)
    assert [r.pk for r in result.moved_to_waitlist] == [regs[1].pk, regs[2].pk]
    statuses = {r.pk: r.status for r in Registration.objects.filter(session=session)}
    assert statuses[regs[0].pk] == RegStatus.CONFIRMED
    assert statuses[regs[1].pk] == statuses[regs[2].pk] == statuses[regs[3].pk] == "waitlisted"
    order = [r.pk for r in services.waiting(session)]
    assert order == [regs[1].pk, regs[2].pk, regs[3].pk]  # the moved ones first, in their order
    subjects = [m.subject for m in mailoutbox]
    assert sum("Change to your registration" in s or "Changement" in s for s in subjects) == 2


def test_capacity_cannot_go_below_the_people_checked_in(
    tenant: Organization, staff: Membership
) -> None:
    session = SessionFactory(organization=tenant, capacity=3)
    regs = [
        services.register_customer(session, p, actor=Actor.customer()).registration
        for p in _customers(tenant, 2)
    ]
    for r in regs:
        services.check_in(staff, r)
    inp = services.SessionInput(
        title=session.title, starts_at=session.starts_at, capacity=1, location=session.location
    )
    with pytest.raises(ServiceError) as err:
        services.update_session(staff, session, inp)
    assert err.value.field == "capacity"
    assert Session.objects.get(pk=session.pk).capacity == 3


def test_check_in_credits_the_points_for_attending_once(
    session: Session, staff: Membership, django_capture_on_commit_callbacks: Any
) -> None:
    from cueillette.loyalty import services as loyalty

    customer = CustomerFactory(organization=session.organization)
    loyalty.join_program(customer, actor=Actor.system())
    reg = services.register_customer(session, customer, actor=Actor.customer()).registration
    first = services.check_in(staff, reg)
    second = services.check_in(staff, reg)
    assert (first.points, first.already) == (10, False)
    assert (second.points, second.already) == (0, True)
    card = Card.objects.get(customer=customer)
    entries = PointsEntry.objects.filter(card=card, kind=EntryKind.EVENT)
    assert [e.points for e in entries] == [10]
    assert entries[0].cause == f"events:{reg.pk}"
    assert card.balance == sum(e.points for e in PointsEntry.objects.filter(card=card))


def test_counter_staff_run_the_door_but_do_not_offer_sessions(
    tenant: Organization, counter: Any, session: Session
) -> None:
    membership = Membership.objects.get(user=counter)
    customer = CustomerFactory(organization=tenant)
    reg = services.register_customer(session, customer, actor=Actor.customer()).registration
    assert services.check_in(membership, reg).registration.status == RegStatus.ATTENDED
    inp = services.SessionInput(
        title="X", starts_at=NOW + dt.timedelta(days=1), capacity=3, location="ici"
    )
    with pytest.raises(ServiceError) as err:
        services.create_session(membership, inp)
    assert err.value.status == 403


def test_walk_ins_fill_free_seats_only(tenant: Organization, staff: Membership) -> None:
    session = SessionFactory(organization=tenant, capacity=1)
    result = services.walk_in(staff, session, services.WalkInInput(first_name="Léon"))
    assert result.registration.walk_in and result.registration.status == RegStatus.ATTENDED
    assert Customer.objects.filter(first_name="Léon", source=Source.EVENT).exists()
    with pytest.raises(ServiceError) as err:
        services.walk_in(staff, session, services.WalkInInput(first_name="Lucie"))
    assert err.value.code == "full"


def test_a_walk_in_already_known_by_phone_is_not_recorded_twice(
    tenant: Organization, staff: Membership
) -> None:
    session = SessionFactory(organization=tenant, capacity=3)
    known = CustomerFactory(organization=tenant, phone="+33611223344", first_name="Bérénice")
    result = services.walk_in(
        staff, session, services.WalkInInput(first_name="Bérénice", phone="06 11 22 33 44")
    )
    assert result.registration.customer_id == known.pk
    assert Customer.objects.filter(first_name="Bérénice").count() == 1


def test_a_series_makes_one_session_a_week_at_the_same_local_time_across_dst(
    tenant: Organization, staff: Membership
) -> None:
    tenant.timezone = "Europe/Paris"
    tenant.save()
    first = dt.date(2026, 3, 17)  # three Tuesdays before, one after the 29 March change
    base = services.SessionInput(
        title="Yoga", starts_at=NOW, capacity=12, location="Salle des fêtes"
    )
    result = services.create_series(
        staff,
        services.SeriesInput(
            session=base,
            first_date=first,
            local_time=dt.time(20, 0),
            weeks=4,
            exceptions=(dt.date(2026, 3, 24),),
        ),
        now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    local = [s.starts_at.astimezone(tenant.tz) for s in result.sessions]
    assert [d.strftime("%m-%d %H:%M") for d in local] == [
        "03-17 20:00",
        "03-31 20:00",
        "04-07 20:00",
    ]
    assert {s.starts_at.utcoffset() for s in result.sessions} == {dt.timedelta(0)}
    assert result.sessions[0].starts_at.hour == 19 and result.sessions[1].starts_at.hour == 18


def test_a_series_in_the_past_or_of_zero_weeks_is_refused(
    tenant: Organization, staff: Membership
) -> None:
    base = services.SessionInput(title="Yoga", starts_at=NOW, capacity=12, location="Salle")
    with pytest.raises(ServiceError) as err:
        services.create_series(
            staff,
            services.SeriesInput(
                session=base, first_date=dt.date(2020, 1, 7), local_time=dt.time(20), weeks=0
            ),
        )
    assert err.value.field == "weeks"
    with pytest.raises(ServiceError) as err:
        services.create_series(
            staff,
            services.SeriesInput(
                session=base, first_date=dt.date(2020, 1, 7), local_time=dt.time(20), weeks=2
            ),
        )
    assert err.value.field == "first_date"
    assert not Session.objects.exists()


def test_session_input_is_checked_field_by_field(tenant: Organization, staff: Membership) -> None:
    bad = services.SessionInput(
        title="",
        starts_at=NOW - dt.timedelta(hours=1),
        capacity=0,
        mode="online",
        video_url="http://insecure.example/room",
        price=Decimal("-3"),
    )
    with pytest.raises(ServiceError) as err:
        services.create_session(staff, bad)
    fields = {e["field"] for e in err.value.errors}
    assert {"title", "starts_at", "capacity", "video_url", "price"} <= fields
    assert not Session.objects.exists()


def test_price_parsing() -> None:
    assert services.parse_price("12,50") == Decimal("12.50")
    assert services.parse_price("€ 8") == Decimal("8.00")
    assert services.parse_price("") is None
    with pytest.raises(ServiceError):
        services.parse_price("douze")


def test_reminders_the_day_before_go_once(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    starts = dt.datetime(2026, 6, 10, 18, 0, tzinfo=dt.UTC)
    session = SessionFactory(organization=tenant, starts_at=starts)
    customer = CustomerFactory(organization=tenant, email="rappel@example.org")
    services.register_customer(
        session, customer, actor=Actor.customer(), now=starts - dt.timedelta(days=5)
    )
    day_before = dt.datetime(2026, 6, 9, 9, 30, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders(day_before) == 1
        assert services.send_reminders(day_before + dt.timedelta(hours=1)) == 0
    assert mailoutbox[-1].to == ["rappel@example.org"]


def test_the_owner_can_switch_the_reminder_off(
    tenant: Organization,
    staff: Membership,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    """The reminder is transactional (no consent, no cap) yet the owner's switch holds; the
    decision is recorded with its reason, and the registration counts as reminded (once)."""
    from cueillette.messaging import services as messaging_services
    from cueillette.messaging.models import Delivery

    owner = MembershipFactory(organization=tenant, role="owner").user
    messaging_services.update_automatic(
        messaging_services.Staff(Actor.staff(owner, "owner"), "owner"),
        "event_reminder",
        messaging_services.AutomaticInput(enabled=False),
    )
    starts = dt.datetime(2026, 6, 10, 18, 0, tzinfo=dt.UTC)
    session = SessionFactory(organization=tenant, starts_at=starts)
    customer = CustomerFactory(organization=tenant, email="sans-rappel@example.org")
    services.register_customer(
        session, customer, actor=Actor.customer(), now=starts - dt.timedelta(days=5)
    )
    sent_before = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reminders(dt.datetime(2026, 6, 9, 9, 30, tzinfo=dt.UTC))
    assert len(mailoutbox) == sent_before, [m.subject for m in mailoutbox]
    decision = Delivery.objects.get(kind="event_reminder")
    assert (decision.status, decision.reason) == ("refused", "switched_off")


def test_feedback_requests_need_the_feedback_consent_and_record_one_answer(
    tenant: Organization,
    staff: Membership,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    starts = timezone.now() - dt.timedelta(hours=5)
    session = SessionFactory(organization=tenant, starts_at=starts, duration_minutes=60)
    yes = CustomerFactory(organization=tenant, email="oui@example.org")
    no = CustomerFactory(organization=tenant, email="non@example.org")
    customer_services.record_consent(
        yes, Purpose.FEEDBACK, True, source=Source.COUNTER, actor=Actor.system()
    )
    regs = []
    for c in (yes, no):
        reg = Registration.objects.create(
            session=session, customer=c, name=c.full_name, email=c.email, status="confirmed"
        )
        services.check_in(staff, reg)
        regs.append(reg)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_feedback_requests() == 1
    assert mailoutbox[-1].to == ["oui@example.org"]
    assert mailoutbox[-1].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = services.feedback_token(Registration.objects.get(pk=regs[0].pk))
    with pytest.raises(ServiceError) as err:
        services.record_feedback(token, 9)
    assert err.value.field == "score"
    services.record_feedback(token, 4, "Très bien")
    with pytest.raises(ServiceError) as err:
        services.record_feedback(token, 5)
    assert err.value.status == 409
    assert Registration.objects.get(pk=regs[0].pk).feedback_score == 4


def test_erasure_blanks_what_the_person_typed(
    session: Session, django_capture_on_commit_callbacks: Any
) -> None:
    from cueillette.customers import portal

    session.question = "Votre niveau ?"
    session.save()
    customer = CustomerFactory(organization=session.organization, first_name="Secretissime")
    reg = services.register_customer(
        session, customer, actor=Actor.customer(), answer="débutante enceinte"
    ).registration
    portal.erase_customer(customer, actor=Actor.customer(), reason="self")
    reg.refresh_from_db()
    assert reg.name == "" and reg.answer == "" and reg.status == RegStatus.CONFIRMED


# --------------------------------------------------------------------------- properties

OPS = st.lists(
    st.tuples(
        st.sampled_from(["register", "cancel", "expire", "accept", "shrink", "grow"]),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30)
@given(ops=OPS)
@pytest.mark.django_db
def test_capacity_is_never_exceeded_and_offers_follow_the_list_order(
    ops: list[tuple[str, int]],
) -> None:
    from cueillette.core import tenancy
    from cueillette.core.tests.factories import OrganizationFactory

    org = OrganizationFactory()
    with tenancy.tenant_context(org):
        owner = MembershipFactory(organization=org)
        session = SessionFactory(organization=org, capacity=3, starts_at=NOW + dt.timedelta(days=5))
        people = [CustomerFactory(organization=org) for _ in range(8)]
        clock = NOW
        for op, i in ops:
            clock += dt.timedelta(hours=5)
            reg = (
                Registration.objects.filter(session=session, customer=people[i])
                .order_by("-id")
                .first()
            )
            try:
                if op == "register":
                    result = services.register_customer(
                        session, people[i], actor=Actor.customer(), now=clock
                    )
                    # The position told at once (counted under the lock) is the list's own.
                    if result.placed == "waitlist":
                        assert result.position == services.waitlist_position(result.registration)
                elif op == "cancel" and reg is not None:
                    services.cancel_registration(reg, actor=Actor.customer(), now=clock)
                elif op == "expire":
                    services.expire_offers(clock)
                elif op == "accept" and reg is not None:
                    services.accept_offer(reg, now=clock)
                elif op in ("shrink", "grow"):
                    session.refresh_from_db()
                    cap = max(1, session.capacity + (-1 if op == "shrink" else 1))
                    services.update_session(
                        owner,
                        session,
                        services.SessionInput(
                            title=session.title,
                            starts_at=session.starts_at,
                            capacity=cap,
                            location=session.location,
                        ),
                        now=clock,
                    )
            except ServiceError:
                pass
            session.refresh_from_db()
            assert services.seats_taken(session) <= session.capacity
            # Never a free seat while someone waits with nothing offered (offers fill seats).
            waiting = services.waiting(session)
            free = session.capacity - services.seats_taken(session)
            if waiting and free > 0 and session.starts_at - clock > dt.timedelta(minutes=15):
                raise AssertionError(f"{free} free seats while {len(waiting)} wait")
            # First come, first offered: nobody waiting is ahead of someone offered a seat.
            offered = Registration.objects.filter(session=session, status="offered")
            if waiting and offered:
                last_offered = max((r.queued_at, r.pk) for r in offered)
                assert last_offered < (waiting[0].queued_at, waiting[0].pk)
            # One active registration per person.
            active = Registration.objects.filter(
                session=session, status__in=["confirmed", "offered", "attended", "waitlisted"]
            )
            ids = [r.customer_id for r in active]
            assert len(ids) == len(set(ids))


def test_the_notice_is_rendered_by_a_task_after_commit_and_reflects_the_registration_then(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    from cueillette.messaging.models import Delivery

    session = SessionFactory(
        organization=tenant, capacity=5, mode="online", video_url="https://visio.example/room-7"
    )
    first, second = CustomerFactory(organization=tenant), CustomerFactory(organization=tenant)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.register_customer(session, first, actor=Actor.customer())
    # Nothing is rendered nor decided in the request: one task is queued after commit.
    assert len(queued) == 1 and not Delivery.objects.exists() and not mailoutbox
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [first.email]
    assert "https://visio.example/room-7" in mailoutbox[0].body
    assert Delivery.objects.filter(customer=first, kind="event_notice").count() == 1

    # Cancelled before the worker got to it: no video link for someone who holds no seat.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        result = services.register_customer(session, second, actor=Actor.customer())
    services.cancel_registration(result.registration, actor=Actor.customer())
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    assert mailoutbox[-1].to == [second.email]
    assert "room-7" not in mailoutbox[-1].body


def test_a_waitlisted_registration_is_told_its_place_at_once(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    session = SessionFactory(organization=tenant, capacity=1, waitlist_enabled=True)
    people = [CustomerFactory(organization=tenant) for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        results = [services.register_customer(session, p, actor=Actor.customer()) for p in people]
    assert [(r.placed, r.position) for r in results] == [
        ("seat", None),
        ("waitlist", 1),
        ("waitlist", 2),
        ("waitlist", 3),
    ]
    assert "3" in mailoutbox[-1].body
    with pytest.raises(ServiceError) as err:
        services.register_customer(session, people[2], actor=Actor.customer())
    assert err.value.field == "customer"
