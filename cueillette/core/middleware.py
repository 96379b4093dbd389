"""Sets request.organization for staff pages and makes it the current tenant."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cueillette.core import tenancy

SESSION_ORG_KEY = "cueillette_org_id"


class TenantMiddleware:
    """Staff: the organization chosen in the session among the user's memberships.

    Public pages (``/o/<slug>/...``) and the API choose their organization themselves through
    ``tenancy.tenant_context``; this middleware only resets the context at the end of each
    request so that nothing leaks from one request to the next in a thread.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from cueillette.accounts.models import Membership

        request.organization = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
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
                request.organization = membership.organization  # type: ignore[attr-defined]
                request.membership = membership  # type: ignore[attr-defined]
        token = tenancy.activate(request.organization)  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            tenancy.deactivate(token)
