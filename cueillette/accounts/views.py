"""Staff account pages: sign up, log in, confirm the email, team, invitations, settings."""

from __future__ import annotations

import math
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.accounts import ratelimit, services, timezones
from cueillette.accounts.errors import Code
from cueillette.accounts.forms import (
    InvitationAccountForm,
    InvitationPasswordForm,
    InviteForm,
    LoginForm,
    OrganizationCreateForm,
    OrganizationSettingsForm,
    PersonForm,
    RoleForm,
    StaffPasswordResetForm,
)
from cueillette.accounts.models import Invitation, Membership, User
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.core.middleware import SESSION_ORG_KEY
from cueillette.core.models import Organization
from cueillette.core.permissions import Perm, role_has
from cueillette.core.tenancy import access

# --------------------------------------------------------------------------- helpers


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _org(request: HttpRequest) -> Organization:
    return cast(Organization, request.organization)  # type: ignore[attr-defined]


def _membership(request: HttpRequest) -> Membership:
    return cast(Membership, request.membership)  # type: ignore[attr-defined]


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _landing(request: HttpRequest, user: User) -> str:
    """Where a person lands after logging in: counter staff on the counter (the screen they
    work on all day), the others on the overview. The organization is the one the session
    will open (the middleware's rule: the chosen one, else the first joined)."""
    memberships = Membership.objects.unscoped().filter(user=user)  # the person's own, by design
    wanted = request.session.get(SESSION_ORG_KEY)
    membership = memberships.filter(organization_id=wanted).first() if wanted else None
    membership = membership or memberships.order_by("created_at").first()
    if membership is not None and membership.role == "counter":
        return reverse("loyalty:counter")
    return reverse("web:home")


def _speak(response: HttpResponse, user: User) -> HttpResponse:
    """After logging in, the interface speaks the person's language."""
    if user.language in ("fr", "en"):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _too_many_attempts(wait_seconds: int) -> str:
    if wait_seconds < 60:
        # The per-account slow-down: seconds, not a lock.
        return ngettext(
            "Too many attempts: try again in %(n)d second.",
            "Too many attempts: try again in %(n)d seconds.",
            wait_seconds,
        ) % {"n": wait_seconds}
    minutes = max(1, math.ceil(wait_seconds / 60))
    return ngettext(
        "Too many attempts: try again in %(n)d minute.",
        "Too many attempts: try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


def _ui_language() -> str:
    lang = (translation.get_language() or "fr")[:2]
    return lang if lang in ("fr", "en") else "fr"


# --------------------------------------------------------------------------- login / logout


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_safe_next(request, _landing(request, _user(request))))
    form = LoginForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    if request.method == "POST":
        email = str(request.POST.get("email", "")).strip().lower()
        ip = ratelimit.client_ip(request)
        wait = ratelimit.login_wait(email, ip)
        if wait:
            # Over the limit: refuse without even checking the password.
            error = _too_many_attempts(wait)
            status = 429
        elif form.is_valid():
            user = authenticate(
                request,
                username=form.cleaned_data["email"].strip().lower(),
                password=form.cleaned_data["password"],
            )
            if user is None:
                ratelimit.login_failed(email, ip)
                error = _("Email or password is not correct.")
                status = 400
            else:
                ratelimit.login_succeeded(email, ip)
                login(request, user)
                return _speak(redirect(_safe_next(request, _landing(request, user))), user)
        else:
            status = 400
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "next": _safe_next(request, "")},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(wait)
    return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule): a link or an image cannot log someone out.

    Goes to ``LOGOUT_REDIRECT_URL`` (the login page) or to a safe ``next``.
    """


# --------------------------------------------------------------------------- signup


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """A newcomer opens a business; a logged-in person opens another one."""
    newcomer = not request.user.is_authenticated
    data = request.POST if request.method == "POST" else None
    person_form = PersonForm(data) if newcomer else None
    country = timezones.country_from_request(request)
    likely = timezones.likely_zones(country)
    initial = {"language": _ui_language(), "timezone": likely[0] if likely else "Europe/Paris"}
    org_form = OrganizationCreateForm(data, initial=initial, country=country)
    status = 200
    if request.method == "POST":
        # Validate both so that every error shows at once.
        org_ok = org_form.is_valid()
        person_ok = person_form is None or person_form.is_valid()
        if org_ok and person_ok:
            org_data = org_form.cleaned_data
            try:
                if person_form is not None:
                    person = person_form.cleaned_data
                    user, org = services.sign_up(
                        full_name=person["full_name"],
                        email=person["email"],
                        password=person["password"],
                        org_name=org_data["org_name"],
                        slug=org_data["slug"],
                        language=org_data["language"],
                        timezone=org_data["timezone"],
                        currency=org_data["currency"],
                    )
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                else:
                    user = _user(request)
                    org = services.create_organization(
                        owner=user,
                        name=org_data["org_name"],
                        slug=org_data["slug"],
                        language=org_data["language"],
                        timezone=org_data["timezone"],
                        currency=org_data["currency"],
                    )
            except ServiceError as error:
                if person_form is not None and error.field in person_form.fields:
                    person_form.add_service_error(error)
                else:
                    org_form.add_service_error(error)
            else:
                request.session[SESSION_ORG_KEY] = org.pk
                if newcomer:
                    messages.success(
                        request,
                        _("Welcome! We sent you an email to confirm your address."),
                    )
                else:
                    messages.success(
                        request, _("%(name)s is open. You are its owner.") % {"name": org.name}
                    )
                response = redirect("web:home")
                return _speak(response, user) if newcomer else response
        status = 400
    return render(
        request,
        "accounts/signup.html",
        {"person_form": person_form, "org_form": org_form, "newcomer": newcomer},
        status=status,
    )


# --------------------------------------------------------------------------- email confirmation


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST confirms (mail scanners open links, they do not press)."""
    try:
        user = services.user_for_confirmation(token)
    except ServiceError as error:
        status = {Code.TOKEN_USED: 200, Code.TOKEN_EXPIRED: 410}.get(Code(error.code), 400)
        return render(
            request,
            "accounts/confirm_email_invalid.html",
            {"error": error, "already": error.code == Code.TOKEN_USED},
            status=status,
        )
    if request.method == "POST":
        try:
            services.confirm_email(token)
        except ServiceError as error:
            return render(
                request,
                "accounts/confirm_email_invalid.html",
                {"error": error, "already": error.code == Code.TOKEN_USED},
            )
        return render(request, "accounts/confirm_email_done.html", {"confirmed_user": user})
    return render(request, "accounts/confirm_email.html", {"confirmed_user": user})


@login_required
@require_POST
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.email_confirmed_at is not None:
        messages.info(request, _("Your email address is already confirmed."))
    elif cache.add(f"accounts:resend-confirmation:{user.pk}", 1, 60):
        services.send_email_confirmation(user)
        messages.success(
            request, _("We sent a new confirmation email to %(email)s.") % {"email": user.email}
        )
    else:
        messages.info(
            request, _("An email was sent less than a minute ago: please check your inbox.")
        )
    return redirect(_safe_next(request, reverse("web:home")))


# --------------------------------------------------------------------------- organizations


@login_required
def no_organization(request: HttpRequest) -> HttpResponse:
    if getattr(request, "membership", None) is not None:
        return redirect("web:home")
    return render(request, "accounts/no_organization.html")


@login_required
@require_http_methods(["GET", "POST"])
def switch(request: HttpRequest) -> HttpResponse:
    # A person's own memberships span organizations by design: this page lists all of them,
    # and only them.
    memberships = (
        Membership.objects.unscoped()
        .filter(user=_user(request))
        .select_related("organization")
        .order_by("organization__name")
    )
    if request.method == "POST":
        try:
            org_id = int(request.POST.get("organization", ""))
        except ValueError as exc:
            raise Http404 from exc
        membership = memberships.filter(organization_id=org_id).first()
        if membership is None:
            raise Http404
        request.session[SESSION_ORG_KEY] = membership.organization_id
        messages.success(
            request,
            _("You are now working in %(name)s.") % {"name": membership.organization.name},
        )
        return redirect("web:home")
    if not memberships:
        return redirect("accounts:no_organization")
    return render(request, "accounts/switch.html", {"memberships": memberships})


def _settings_links(role: str) -> list[dict[str, str]]:
    links = []
    if role_has(role, Perm.MANAGE_STAFF):
        links.append(
            {
                "url": reverse("accounts:staff"),
                "title": _("Team"),
                "text": _("Invite people and choose what each one may do."),
            }
        )
    if role_has(role, Perm.EDIT_WORDINGS):
        links.append(
            {
                "url": reverse("customers:wordings"),
                "title": _("Consent wordings"),
                "text": _("The exact words your customers agree to, for each purpose."),
            }
        )
    if role_has(role, Perm.MANAGE_API_KEYS):
        links.append(
            {
                "url": reverse("apikeys:list"),
                "title": _("API keys"),
                "text": _("Connect your till or your website."),
            }
        )
    return links


@staff_required()
@require_http_methods(["GET", "POST"])
def organization_settings(request: HttpRequest) -> HttpResponse:
    """Owners edit the business; managers find here the links to what they may manage."""
    org = _org(request)
    role = _membership(request).role
    can_edit = role_has(role, Perm.MANAGE_ORGANIZATION)
    links = _settings_links(role)
    if not can_edit and not links:
        raise PermissionDenied
    form: OrganizationSettingsForm | None = None
    status = 200
    if can_edit:
        initial = {f: getattr(org, f) for f in services.ORGANIZATION_FIELDS}
        form = OrganizationSettingsForm(
            request.POST if request.method == "POST" else None,
            initial=initial,
            country=timezones.country_of_zone(org.timezone)
            or timezones.country_from_request(request),
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.update_organization(
                    org,
                    services.OrganizationChange(**form.cleaned_data),
                    actor=staff_actor(request),
                )
            except ServiceError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("accounts:settings")
        status = 400
    return render(
        request,
        "accounts/settings.html",
        {"form": form, "links": links, "can_edit": can_edit},
        status=status,
    )


# --------------------------------------------------------------------------- team


def _render_staff(
    request: HttpRequest,
    *,
    invite_form: InviteForm | None = None,
    member_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    members = list(Membership.objects.select_related("user").order_by("created_at"))
    member_errors = member_errors or {}
    rows = [
        {
            "membership": m,
            "form": RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}"),
            "error": member_errors.get(m.pk, ""),
            "is_me": m.user_id == user.pk,
        }
        for m in members
    ]
    invitations = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")
    return render(
        request,
        "accounts/staff.html",
        {
            "rows": rows,
            "invitations": invitations,
            "invite_form": invite_form or InviteForm(),
            "can_invite": user.email_confirmed_at is not None,
        },
        status=status,
    )


@staff_required(Perm.MANAGE_STAFF)
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest) -> HttpResponse:
    """The team: members with their role, pending invitations, and the invite form."""
    if request.method == "GET":
        return _render_staff(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invite_staff(
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                actor=staff_actor(request),
            )
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("accounts:staff")
    return _render_staff(request, invite_form=form, status=400)


@staff_required(Perm.MANAGE_STAFF)
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access(Membership, pk)
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        return _render_staff(
            request,
            member_errors={membership.pk: _("role must be owner, manager or counter staff")},
            status=400,
        )
    try:
        services.change_role(membership, form.cleaned_data["role"], actor=staff_actor(request))
    except ServiceError as error:
        return _render_staff(request, member_errors={membership.pk: error.message}, status=400)
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": membership.user.display_name, "role": membership.get_role_display()},
    )
    return redirect("accounts:staff")


@staff_required(Perm.MANAGE_STAFF)
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access(Membership, pk)
    name = membership.user.display_name
    try:
        services.remove_member(membership, actor=staff_actor(request))
    except ServiceError as error:
        return _render_staff(request, member_errors={membership.pk: error.message}, status=400)
    messages.success(request, _("%(name)s no longer belongs to the team.") % {"name": name})
    if membership.user_id == _user(request).pk:
        request.session.pop(SESSION_ORG_KEY, None)
        return redirect("web:home")
    return redirect("accounts:staff")


@staff_required(Perm.MANAGE_STAFF)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = access(Invitation, pk)
    try:
        services.revoke_invitation(invitation, actor=staff_actor(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation was withdrawn; its link no longer works."))
    return redirect("accounts:staff")


# --------------------------------------------------------------------------- accepting


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Join a team from an emailed link: as the logged-in person, by logging in, or signing up."""
    try:
        invitation = services.invitation_for_token(token)
    except ServiceError as error:
        status = 404 if error.code == Code.TOKEN_INVALID else 410
        return render(request, "accounts/invite_invalid.html", {"error": error}, status=status)
    org = invitation.organization
    current = _user(request) if request.user.is_authenticated else None
    if current is not None and current.email.lower() != invitation.email.lower():
        return render(
            request,
            "accounts/invite_wrong_account.html",
            {"invitation": invitation, "invited_org": org},
            status=403,
        )
    # Who is this person? The invitation is for an email; an account with it may exist.
    existing = current or User.objects.filter(email__iexact=invitation.email).first()
    mode = "join" if current is not None else ("login" if existing is not None else "create")
    data = request.POST if request.method == "POST" else None
    form: Form | None = None
    if mode == "login":
        form = InvitationPasswordForm(data)
    elif mode == "create":
        form = InvitationAccountForm(data)
    error_message = ""
    status = 200
    if request.method == "POST":
        try:
            user: User | None = None
            if mode == "join":
                user = current
                assert user is not None
                membership = services.accept_invitation(token, user)
            elif mode == "login":
                assert isinstance(form, InvitationPasswordForm)
                ip = ratelimit.client_ip(request)
                wait = ratelimit.login_wait(invitation.email, ip)
                if wait:
                    raise ServiceError("rate_limited", _too_many_attempts(wait), status=429)
                if not form.is_valid():
                    raise ServiceError("required", _("password is required"), field="password")
                authenticated = authenticate(
                    request,
                    username=invitation.email.lower(),
                    password=form.cleaned_data["password"],
                )
                if authenticated is None:
                    ratelimit.login_failed(invitation.email, ip)
                    raise ServiceError(
                        "wrong_password", _("password is not correct"), field="password"
                    )
                user = authenticated
                membership = services.accept_invitation(token, user)
                login(request, user)
            else:
                assert isinstance(form, InvitationAccountForm)
                if not form.is_valid():
                    raise ServiceError("invalid", "", field="__form__")
                user, membership = services.accept_invitation_new_account(
                    token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password"],
                    language=_ui_language(),
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except ServiceError as error:
            status = error.status
            if error.field == "__form__":
                pass  # the form already holds its errors
            elif form is not None and error.field in form.fields:
                apply_service_error(form, error)
            else:
                error_message = error.message
        else:
            request.session[SESSION_ORG_KEY] = membership.organization_id
            messages.success(
                request,
                _("Welcome to %(name)s! You joined as %(role)s.")
                % {"name": org.name, "role": membership.get_role_display()},
            )
            assert user is not None
            response = redirect(_landing(request, user))
            return _speak(response, user) if current is None else response
    return render(
        request,
        "accounts/invite_accept.html",
        {
            "invitation": invitation,
            "invited_org": org,
            "mode": mode,
            "form": form,
            "error": error_message,
            "existing": existing,
        },
        status=status,
    )


# --------------------------------------------------------------------------- password reset


class PasswordResetView(auth_views.PasswordResetView):
    form_class = StaffPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Each request sends an email: limit them per address and per IP like login attempts,
        # so the form cannot be used to flood someone's inbox.
        keys = ratelimit.password_reset_keys(
            form.cleaned_data["email"], ratelimit.client_ip(self.request)
        )
        wait = ratelimit.retry_after(keys)
        if wait:
            form.add_error(None, _too_many_attempts(wait))
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        ratelimit.hit(keys)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # A new password lifts the lock on the person's own login counter.
        ratelimit.login_reset_account(form.user.email)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
