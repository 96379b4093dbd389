"""Sets request.organization for staff pages and makes it the current tenant."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest, HttpResponse

from cueillette.core import tenancy

if TYPE_CHECKING:
    from cueillette.core.models import Organization

SESSION_ORG_KEY = "cueillette_org_id"


class OrgRequest(HttpRequest):
    """A staff request as views receive it: the organization chosen, and the membership.

    Views under ``@staff_required`` annotate ``request: OrgRequest`` and read
    ``request.organization`` without casts (the middleware sets both on every request; they
    are None only for anonymous visitors, whom ``@staff_required`` turns away).
    """

    organization: Organization
    membership: Any  # accounts.Membership (core imports no app above it)


class TenantMiddleware:
    """Staff: the organization chosen in the session among the user's memberships.

    Public pages (``/o/<slug>/...``) and the API choose their organization themselves through
    ``tenancy.tenant_context``; this middleware only resets the context at the end of each
    request so that nothing leaks from one request to the next in a thread.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        from cueillette.accounts.models import Membership

        request = cast(OrgRequest, http_request)
        request.organization = None  # type: ignore[assignment]  # set below for staff
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Reading the user's own memberships crosses organizations by design.
            memberships = Membership.objects.unscoped().select_related("organization")
            wanted = request.session.get(SESSION_ORG_KEY)
            membership = None
            if wanted is not None:
                membership = memberships.filter(user=user, organization_id=wanted).first()
            if membership is None:
                membership = memberships.filter(user=user).order_by("created_at").first()
                if membership is not None:
                    request.session[SESSION_ORG_KEY] = membership.organization_id
            if membership is not None:
                request.organization = membership.organization
                request.membership = membership
        token = tenancy.activate(request.organization)
        try:
            return self.get_response(request)
        finally:
            tenancy.deactivate(token)
