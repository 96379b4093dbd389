"""The emails of the events app, in the recipient's language, sent after commit.

Every email is a request to the send gate (``core.mail.send_templated``). Classes:
*transactional* — the confirmation link a visitor just asked for, the registration's
confirmation, a seat offered from the waiting list, a change or cancellation of a session they
registered for, the reminder the day before (all part of the booking the person made, never a
promotion); *service* — the feedback request, which needs the feedback consent at send time
and carries the gate's one-click unsubscribe (RFC 8058).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.mail import send_templated
from cueillette.core.tenancy import current_org, tenant_context
from cueillette.events.models import Mode, Registration, Session

ONCE_KINDS = frozenset({"event_reminder", "event_feedback"})


def _url(name: str, **kwargs: Any) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"slug": current_org().slug, **kwargs})


def manage_url(reg: Registration) -> str:
    from cueillette.events.services import manage_token

    return _url("public:event_registration", token=manage_token(reg))


def when(session: Session, language: str) -> str:
    """ "mardi 3 mars 2026 à 20:00" in the business's time zone, in the reader's language."""
    tz = current_org().tz
    local = session.starts_at.astimezone(tz)
    with translation.override(language):
        day = formats.date_format(local, "l j F Y")
        hour = formats.time_format(local, "H:i")
        return _("%(day)s at %(time)s") % {"day": day, "time": hour}


def _send(
    reg: Registration,
    subject: str,
    paragraphs: list[str],
    *,
    button_url: str = "",
    button_label: str = "",
    show_video: bool = False,
    footer: str = "",
    headers: dict[str, str] | None = None,
    kind: str = "event_notice",
    klass: str = "transactional",
    purposes: tuple[str, ...] = (),
) -> None:
    """Queue the notice once the action commits; a task renders it and asks the send gate.

    Nothing is rendered in the request: at the 8 pm rush every registration waits for the
    session's row lock, and the worker (not the person on their phone) pays for the templates
    and the gate's decision. The task reads the registration again, so an address erased or a
    session moved meanwhile is what the message reflects.
    """
    if not reg.email or not reg.pk:
        return
    fields: dict[str, Any] = {
        "org_id": current_org().pk,
        "registration_id": reg.pk,
        "subject": subject,
        "paragraphs": paragraphs,
        "button_url": button_url,
        "button_label": button_label,
        "show_video": show_video,
        "footer": footer,
        "headers": headers,
        "kind": kind,
        "klass": klass,
        "purposes": list(purposes),
    }
    transaction.on_commit(lambda: send_notice.enqueue(**fields))


@task(queue_name="emails")
def send_notice(
    org_id: int,
    registration_id: int,
    subject: str,
    paragraphs: list[str],
    button_url: str = "",
    button_label: str = "",
    show_video: bool = False,
    footer: str = "",
    headers: dict[str, str] | None = None,
    kind: str = "event_notice",
    klass: str = "transactional",
    purposes: list[str] | None = None,
) -> str:
    """Render one notice of :func:`_send` in the recipient's language and ask the gate."""
    org = scheduling.organization(org_id)
    if org is None:
        return "no organization"
    with tenant_context(org):
        reg = (
            Registration.objects.select_related("session", "customer")
            .filter(pk=registration_id)
            .first()
        )
        if reg is None or not reg.email:
            return "no address"
        session = reg.session
        context = {
            "organization": org,
            "subject": subject,
            "paragraphs": paragraphs,
            "button_url": button_url,
            "button_label": button_label,
            "session": session,
            "when": when(session, reg.language),
            "online": session.mode == Mode.ONLINE,
            "video_url": session.video_url if show_video and reg.holds_seat else "",
            "footer": footer,
        }
        delivery = send_templated(
            "events/email/notice",
            reg.email,
            context,
            language=reg.language,
            headers=headers,
            kind=kind,
            klass=klass,
            customer=reg.customer,
            purposes=tuple(purposes or ()),
            # A retried pass asks once: the gate keeps its first decision for this key (the
            # reminder and the feedback request go once per registration).
            dedupe_key=f"{kind}:{reg.pk}" if kind in ONCE_KINDS else "",
        )
        return str(getattr(delivery, "status", ""))


def confirm_link(reg: Registration, raw: str) -> None:
    """The link a visitor clicks to confirm their email (the registration waits for it)."""
    url = _url("public:event_confirm", token=raw)
    with translation.override(reg.language):
        _send(
            reg,
            _("Confirm your registration: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "To finish registering, confirm your email address with the button below. "
                    "The link works for 48 hours. If you did not ask for this, ignore this "
                    "message: nothing will be recorded."
                ),
            ],
            button_url=url,
            button_label=_("Confirm my registration"),
        )


def registration_confirmed(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("You are registered: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "Your seat is booked. Add the session to your calendar from your "
                    "registration's page."
                ),
                _(
                    "Cannot come after all? Cancel from the same page, in one click: the seat "
                    "will go to someone on the waiting list."
                ),
            ],
            button_url=manage_url(reg),
            button_label=_("My registration"),
            show_video=True,
        )


def waitlisted(reg: Registration, position: int | None) -> None:
    with translation.override(reg.language):
        lines = [
            _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
            _("The session is full: you are on the waiting list."),
        ]
        if position:
            lines.append(_("Your place on the list: %(n)d.") % {"n": position})
        lines.append(
            _(
                "If a seat is freed, we will offer it to you by email; you will then have a "
                "limited time to accept it."
            )
        )
        _send(
            reg,
            _("Waiting list: %(title)s") % {"title": reg.session.title},
            lines,
            button_url=manage_url(reg),
            button_label=_("My registration"),
        )


def already_registered(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("You are already registered: %(title)s") % {"title": reg.session.title},
            [
                _("Hello,"),
                _(
                    "Someone (probably you) tried to register this address again. You were "
                    "already registered: nothing has changed."
                ),
            ],
            button_url=manage_url(reg),
            button_label=_("My registration"),
        )


def seat_offered(reg: Registration) -> None:
    with translation.override(reg.language):
        expires = ""
        if reg.offer_expires_at is not None:
            local = reg.offer_expires_at.astimezone(current_org().tz)
            expires = formats.date_format(local, "l j F, H:i")
        _send(
            reg,
            _("A seat is free for you: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _("A seat has been freed and you are next on the waiting list."),
                _("Accept it before %(when)s; after that it goes to the next person.")
                % {"when": expires},
            ],
            button_url=manage_url(reg),
            button_label=_("Accept the seat"),
        )


def offer_lapsed(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("The seat offered went to someone else: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "The seat we offered you was not accepted in time, so it went to the next "
                    "person waiting. You can register again from the sessions page."
                ),
            ],
        )


def moved_to_waitlist(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("Change to your registration: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "We are sorry: the number of places for this session had to be reduced, "
                    "and your seat with it. You are now at the head of the waiting list: the "
                    "first seat freed will be offered to you."
                ),
            ],
            button_url=manage_url(reg),
            button_label=_("My registration"),
        )


def session_moved(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("New time: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "The session you registered for has moved. The new time is below; if it "
                    "no longer suits you, cancel in one click from your registration's page."
                ),
            ],
            button_url=manage_url(reg),
            button_label=_("My registration"),
        )


def session_cancelled(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("Session cancelled: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _(
                    "We are sorry: this session is cancelled. Your registration is cancelled "
                    "with it; there is nothing for you to do."
                ),
            ],
        )


def reminder(reg: Registration) -> None:
    with translation.override(reg.language):
        _send(
            reg,
            _("Tomorrow: %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _("A reminder: you are registered for tomorrow's session."),
                _(
                    "Cannot come? Cancel in one click so that someone on the waiting list "
                    "gets your seat."
                ),
            ],
            button_url=manage_url(reg),
            button_label=_("My registration"),
            show_video=True,
            # Part of the booking the person made (no promotion): the gate sends it as such.
            kind="event_reminder",
        )


def feedback_request(reg: Registration, consent: Any) -> None:
    """One question after the session (feedback consent only), with a one-click stop."""
    from cueillette.events.services import feedback_token
    from cueillette.feedback.services import unsubscribe_url

    assert reg.customer is not None
    stop = unsubscribe_url(current_org(), reg.customer)
    url = _url("public:event_feedback", token=feedback_token(reg))
    with translation.override(reg.language):
        _send(
            reg,
            _("How was it? %(title)s") % {"title": reg.session.title},
            [
                _("Hello %(name)s,") % {"name": reg.first_name or reg.name},
                _("Thank you for coming. One question, one click: how was the session?"),
            ],
            button_url=url,
            button_label=_("Give my opinion (1 to 5)"),
            footer=_(
                "You receive this message because you agreed to receive feedback requests "
                "from %(name)s. To stop them, one click: %(url)s"
            )
            % {"name": current_org().name, "url": stop},
            # A service message under the feedback consent: the gate checks it at send time and
            # adds its one-click unsubscribe (RFC 8058) headers.
            kind="event_feedback",
            klass="service",
            purposes=("feedback",),
        )
