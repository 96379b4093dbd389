"""Writes about organizations, staff and roles: atomic and audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _

from cueillette.accounts.errors import Code
from cueillette.accounts.models import Invitation, Membership, Role, User
from cueillette.core import audit, consequences, permissions, tenancy
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import ServiceError
from cueillette.core.inputs import UNSET, Unset, given
from cueillette.core.mail import send_templated
from cueillette.core.models import CURRENCIES, RESERVED_SLUGS, TIMEZONES, Organization
from cueillette.core.permissions import Perm
from cueillette.core.tokens import hash_token, new_token, sign, unsign

CONFIRM_EMAIL_SALT = "cueillette.accounts.confirm_email"
CONFIRM_EMAIL_MAX_AGE = 3 * 24 * 3600
INVITATION_DAYS = 7
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 10 * 365


# --------------------------------------------------------------------------- organizations


@transaction.atomic
def create_organization(
    *,
    owner: User,
    name: str,
    slug: str,
    language: str = "fr",
    timezone: str = "Europe/Paris",
    currency: str = "EUR",
) -> Organization:
    """Open a business: the organization, its owner membership and its default wordings."""
    name = (name or "").strip()
    slug = (slug or "").strip().lower()
    if not name:
        raise ServiceError("required", _("name is required"), field="name")
    if len(name) > 120:
        raise ServiceError("too_long", _("name is too long (120 characters at most)"), field="name")
    from cueillette.core.models import SLUG_VALIDATOR

    try:
        SLUG_VALIDATOR(slug)
    except Exception as exc:
        raise ServiceError(
            "invalid_slug",
            _("public address: use 3 to 50 lowercase letters, digits or hyphens"),
            field="slug",
        ) from exc
    if slug in RESERVED_SLUGS or Organization.objects.filter(slug=slug).exists():
        raise ServiceError("slug_taken", _("public address is already taken"), field="slug")
    if language not in ("fr", "en"):
        raise ServiceError("invalid", _("language must be fr or en"), field="language")
    if timezone not in TIMEZONES:
        raise ServiceError("invalid", _("time zone is not known"), field="timezone")
    if currency not in CURRENCIES:
        raise ServiceError("invalid", _("currency is not supported"), field="currency")
    try:
        with transaction.atomic():  # a concurrent signup may take the slug between check and insert
            org = Organization.objects.create(
                name=name,
                slug=slug,
                language=language,
                timezone=timezone,
                currency=currency,
                contact_email=owner.email,
            )
    except IntegrityError as exc:
        raise ServiceError(
            "slug_taken", _("public address is already taken"), field="slug"
        ) from exc
    with tenancy.tenant_context(org):
        Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
        audit.record(Actor.staff(owner, Role.OWNER), "organization.created", org, slug=slug)
        # Apps seed what a new business starts with (customers: the consent wordings).
        consequences.fire(
            Consequence.ORGANIZATION_CREATED,
            organization_id=org.pk,
            organization=org,
            owner=owner,
            actor=Actor.staff(owner, Role.OWNER),
        )
    return org


ORGANIZATION_FIELDS = (
    "name",
    "language",
    "timezone",
    "currency",
    "retention_days",
    "contact_email",
    "address",
)


@dataclass(frozen=True)
class OrganizationChange:
    """A change to a business's settings; a field left :data:`UNSET` stays as it is
    (``contact_email=""`` clears the address)."""

    name: str | Unset = UNSET
    language: str | Unset = UNSET
    timezone: str | Unset = UNSET
    currency: str | Unset = UNSET
    retention_days: int | str | Unset = UNSET
    contact_email: str | Unset = UNSET
    address: str | Unset = UNSET


@transaction.atomic
def update_organization(
    org: Organization, change: OrganizationChange, *, actor: Actor
) -> Organization:
    """Change the settings of a business; the audit row names the changed fields, not values."""
    permissions.require(actor, Perm.MANAGE_ORGANIZATION)
    data = given(change)
    clean: dict[str, Any] = {}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name:
            raise ServiceError(Code.REQUIRED, _("name is required"), field="name")
        if len(name) > 120:
            raise ServiceError(
                Code.TOO_LONG, _("name is too long (120 characters at most)"), field="name"
            )
        clean["name"] = name
    if "language" in data:
        if data["language"] not in ("fr", "en"):
            raise ServiceError(Code.INVALID, _("language must be fr or en"), field="language")
        clean["language"] = data["language"]
    if "timezone" in data:
        if data["timezone"] not in TIMEZONES:
            raise ServiceError(Code.INVALID, _("time zone is not known"), field="timezone")
        clean["timezone"] = data["timezone"]
    if "currency" in data:
        if data["currency"] not in CURRENCIES:
            raise ServiceError(Code.INVALID, _("currency is not supported"), field="currency")
        clean["currency"] = data["currency"]
    if "retention_days" in data:
        try:
            days = int(data["retention_days"])
        except (TypeError, ValueError) as exc:
            raise ServiceError(
                Code.INVALID, _("retention period must be a number of days"), field="retention_days"
            ) from exc
        if days < MIN_RETENTION_DAYS:
            raise ServiceError(
                Code.TOO_SHORT,
                _("retention period is too short: %(min)d days at least")
                % {"min": MIN_RETENTION_DAYS},
                field="retention_days",
            )
        if days > MAX_RETENTION_DAYS:
            raise ServiceError(
                Code.INVALID,
                _("retention period is too long: %(max)d days at most")
                % {"max": MAX_RETENTION_DAYS},
                field="retention_days",
            )
        clean["retention_days"] = days
    if "contact_email" in data:
        email = str(data["contact_email"] or "").strip()
        if email:
            email = clean_email(email, field="contact_email", label=_("contact email"))
        clean["contact_email"] = email
    if "address" in data:
        address = str(data["address"] or "").strip()
        if len(address) > 255:
            raise ServiceError(
                Code.TOO_LONG, _("address is too long (255 characters at most)"), field="address"
            )
        clean["address"] = address
    changed = [f for f in ORGANIZATION_FIELDS if f in clean and getattr(org, f) != clean[f]]
    if not changed:
        return org
    for field in changed:
        setattr(org, field, clean[field])
    org.save(update_fields=changed)
    with tenancy.tenant_context(org):
        audit.record(actor, "organization.updated", org, fields=changed)
    return org


# --------------------------------------------------------------------------- people


def clean_email(value: str, *, field: str = "email", label: str | None = None) -> str:
    """A normalised (lower-case) email, or a ServiceError that says what is wrong with it."""
    label = label or _("email")
    email = (value or "").strip().lower()
    if not email:
        raise ServiceError(
            Code.REQUIRED, _("%(label)s is required") % {"label": label}, field=field
        )
    if "@" not in email:
        raise ServiceError(
            Code.INVALID_EMAIL,
            _("%(label)s is not valid: missing @") % {"label": label},
            field=field,
        )
    try:
        EmailValidator()(email)
    except ValidationError as exc:
        raise ServiceError(
            Code.INVALID_EMAIL, _("%(label)s is not valid") % {"label": label}, field=field
        ) from exc
    return email


def _check_password(password: str, user: User) -> None:
    if not password:
        raise ServiceError(Code.REQUIRED, _("password is required"), field="password")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(
            Code.WEAK_PASSWORD,
            _("password: %(reasons)s") % {"reasons": " ".join(exc.messages)},
            field="password",
        ) from exc


def create_user(
    *, full_name: str, email: str, password: str, language: str = "fr", confirmed: bool = False
) -> User:
    """A staff account; the caller's transaction holds it (signup, accepted invitation)."""
    full_name = (full_name or "").strip()
    if not full_name:
        raise ServiceError(Code.REQUIRED, _("full name is required"), field="full_name")
    if len(full_name) > 150:
        raise ServiceError(
            Code.TOO_LONG, _("full name is too long (150 characters at most)"), field="full_name"
        )
    email = clean_email(email)
    if language not in ("fr", "en"):
        language = "fr"
    if User.objects.filter(email__iexact=email).exists():
        raise ServiceError(
            Code.EMAIL_TAKEN,
            _("email is already used by an account: log in instead"),
            field="email",
        )
    user = User(email=email, full_name=full_name, language=language)
    if confirmed:
        user.email_confirmed_at = dj_timezone.now()
    _check_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same email signed up at the same moment
        raise ServiceError(
            Code.EMAIL_TAKEN,
            _("email is already used by an account: log in instead"),
            field="email",
        ) from exc
    return user


@transaction.atomic
def sign_up(
    *,
    full_name: str,
    email: str,
    password: str,
    org_name: str,
    slug: str,
    language: str = "fr",
    timezone: str = "Europe/Paris",
    currency: str = "EUR",
) -> tuple[User, Organization]:
    """A newcomer opens a business: their account, the organization, a confirmation email."""
    user = create_user(full_name=full_name, email=email, password=password, language=language)
    org = create_organization(
        owner=user,
        name=org_name,
        slug=slug,
        language=language,
        timezone=timezone,
        currency=currency,
    )
    send_email_confirmation(user)
    return user, org


def email_confirmation_token(user: User) -> str:
    # A digest of the email is signed too: the link stops working if the address changes.
    return sign(f"{user.pk}.{_email_digest(user.email)}", CONFIRM_EMAIL_SALT)


def _email_digest(email: str) -> str:
    return hash_token(email.lower())[:20]


def send_email_confirmation(user: User) -> None:
    """Email a signed link that expires; the landing page confirms with a POST."""
    token = email_confirmation_token(user)
    url = settings.SITE_URL + reverse("accounts:confirm_email", kwargs={"token": token})
    send_templated(
        "accounts/email/confirm_email",
        user.email,
        {"user": user, "url": url, "days": CONFIRM_EMAIL_MAX_AGE // 86400},
        language=user.language,
        klass="staff",
    )


def user_for_confirmation(token: str) -> User:
    """The account behind a confirmation link, or a ServiceError saying why it cannot be used."""
    try:
        value = unsign(token, CONFIRM_EMAIL_SALT, CONFIRM_EMAIL_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired")) from exc
    except signing.BadSignature as exc:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid")) from exc
    user_id, _sep, digest = value.partition(".")
    user = User.objects.filter(pk=int(user_id) if user_id.isdigit() else 0, is_active=True).first()
    if user is None or _email_digest(user.email) != digest:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    if user.email_confirmed_at is not None:
        raise ServiceError(
            Code.TOKEN_USED, _("this link has already been used: your email is confirmed")
        )
    return user


@transaction.atomic
def confirm_email(token: str) -> User:
    """The person pressed "confirm" (a POST): their email is confirmed, once."""
    user = user_for_confirmation(token)
    now = dj_timezone.now()
    flipped = User.objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(
        email_confirmed_at=now
    )
    if not flipped:
        raise ServiceError(
            Code.TOKEN_USED, _("this link has already been used: your email is confirmed")
        )
    user.email_confirmed_at = now
    return user


# --------------------------------------------------------------------------- invitations


def _parse_role(role: str) -> Role:
    if role not in Role.values:
        raise ServiceError(
            Code.INVALID, _("role must be owner, manager or counter staff"), field="role"
        )
    return Role(role)


@transaction.atomic
def invite_staff(email: str, role: str, *, actor: Actor) -> Invitation:
    """Invite someone by email to the current organization; the link works once, 7 days."""
    permissions.require(actor, Perm.MANAGE_STAFF)
    org = tenancy.current_org()
    inviter = actor.user
    if inviter is None or inviter.email_confirmed_at is None:
        raise ServiceError(
            Code.EMAIL_UNCONFIRMED,
            _("confirm your own email address before inviting anyone"),
            status=403,
        )
    email = clean_email(email)
    role = _parse_role(role)
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise ServiceError(
            Code.ALREADY_MEMBER, _("email already belongs to a member of this team"), field="email"
        )
    now = dj_timezone.now()
    # A new invitation to the same address replaces the pending one: only the last link works.
    for old in Invitation.objects.select_for_update().filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ):
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
        audit.record(actor, "invitation.revoked", old, reason="replaced")
    raw = new_token()
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        token_hash=hash_token(raw),
        invited_by=inviter,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    existing = User.objects.filter(email__iexact=email).first()
    url = settings.SITE_URL + reverse("accounts:invite_accept", kwargs={"token": raw})
    send_templated(
        "accounts/email/invitation",
        email,
        {
            "organization": org,
            "inviter": inviter,
            "role_label": role.label,
            "url": url,
            "days": INVITATION_DAYS,
            "has_account": existing is not None,
        },
        language=existing.language if existing is not None else org.language,
        reply_to=inviter.email,
        klass="staff",
    )
    audit.record(actor, "member.invited", invitation, role=role.value)
    return invitation


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, actor: Actor) -> Invitation:
    """A pending invitation stops working at once."""
    permissions.require(actor, Perm.MANAGE_STAFF)
    if invitation.accepted_at is not None:
        raise ServiceError(Code.TOKEN_USED, _("this invitation has already been accepted"))
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = dj_timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(actor, "invitation.revoked", invitation)
    return invitation


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation behind a link, or a ServiceError saying why it cannot be used."""
    # The link is the only thing the visitor has: it names the organization, so the lookup
    # crosses organizations by design (the token hash is unique and unguessable).
    invitation = (
        Invitation.objects.unscoped()
        .select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if invitation is None:
        raise ServiceError(Code.TOKEN_INVALID, _("this invitation link is not valid"))
    if invitation.accepted_at is not None:
        raise ServiceError(Code.TOKEN_USED, _("this invitation has already been accepted"))
    if invitation.revoked_at is not None:
        raise ServiceError(Code.TOKEN_REVOKED, _("this invitation has been withdrawn"))
    if invitation.expires_at < dj_timezone.now():
        raise ServiceError(Code.TOKEN_EXPIRED, _("this invitation has expired"))
    return invitation


@transaction.atomic
def accept_invitation(token: str, user: User) -> Membership:
    """``user`` (whose email is the invited one) joins the organization with the invited role."""
    invitation = invitation_for_token(token)
    if user.email.lower() != invitation.email.lower():
        raise ServiceError(
            Code.WRONG_ACCOUNT,
            _("this invitation was sent to another email address"),
            status=403,
        )
    org = invitation.organization
    with tenancy.tenant_context(org):
        # Single use even under concurrent clicks: only one UPDATE can flip accepted_at.
        flipped = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=dj_timezone.now())
        if not flipped:
            raise ServiceError(Code.TOKEN_USED, _("this invitation has already been accepted"))
        if Membership.objects.filter(user=user).exists():
            raise ServiceError(Code.ALREADY_MEMBER, _("you are already a member of this business"))
        if user.email_confirmed_at is None:
            # Opening the emailed link proves the address.
            User.objects.filter(pk=user.pk).update(email_confirmed_at=dj_timezone.now())
        membership = Membership.objects.create(user=user, role=invitation.role)
        audit.record(
            Actor.staff(user, invitation.role),
            "member.joined",
            membership,
            role=invitation.role,
            invitation_id=invitation.pk,
        )
    return membership


@transaction.atomic
def accept_invitation_new_account(
    token: str, *, full_name: str, password: str, language: str = "fr"
) -> tuple[User, Membership]:
    """A newcomer creates their account from the invitation and joins."""
    invitation = invitation_for_token(token)
    user = create_user(
        full_name=full_name,
        email=invitation.email,
        password=password,
        language=language,
        confirmed=True,  # they opened the link sent to this address
    )
    return user, accept_invitation(token, user)


# --------------------------------------------------------------------------- roles


def _lock_owners() -> list[Membership]:
    # Lock the owners of the organization in primary-key order so two demotions cannot both
    # pass the "another owner remains" check (no-op on SQLite, which serialises writes).
    return list(Membership.objects.select_for_update().filter(role=Role.OWNER).order_by("pk"))


@transaction.atomic
def change_role(membership: Membership, role: str, *, actor: Actor) -> Membership:
    """Give a member another role; the last owner cannot be demoted."""
    permissions.require(actor, Perm.MANAGE_STAFF)
    new_role = _parse_role(role)
    if membership.role == new_role:
        return membership
    owners = _lock_owners()
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise ServiceError(
            Code.LAST_OWNER,
            _("role: the last owner cannot be demoted; make someone else owner first"),
            field="role",
        )
    old = membership.role
    membership.role = new_role
    membership.save(update_fields=["role"])
    audit.record(actor, "member.role_changed", membership, old_role=old, new_role=new_role.value)
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor: Actor) -> None:
    """Remove someone from the team; the last owner cannot be removed."""
    permissions.require(actor, Perm.MANAGE_STAFF)
    owners = _lock_owners()
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise ServiceError(
            Code.LAST_OWNER,
            _("the last owner cannot be removed; make someone else owner first"),
        )
    audit.record(
        actor, "member.removed", membership, role=membership.role, user_id=membership.user_id
    )
    membership.delete()
