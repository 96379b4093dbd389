"""The main pages, shared by the third-party check and the accessibility audit."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from .conftest import Site


def _first(*candidates: tuple[str, dict[str, Any]]) -> str:
    """Reverse the first URL name that exists (page names may still move)."""
    errors = []
    for name, kwargs in candidates:
        try:
            return reverse(name, kwargs=kwargs or None)
        except NoReverseMatch as exc:
            errors.append(str(exc))
    raise NoReverseMatch("; ".join(errors))


def _optional(site: Site, *pages: tuple[str, str], **kwargs: Any) -> list[tuple[str, str]]:
    """Pages of apps that may not be installed yet: listed only when their URL exists."""
    out = []
    for label, name in pages:
        try:
            out.append((label, site(name, **kwargs)))
        except NoReverseMatch:
            continue
    return out


def portal_request_path(slug: str) -> str:
    return _first(
        ("public:portal_request", {"slug": slug}),
        ("public:space_request", {"slug": slug}),
        ("public:portal", {"slug": slug}),
        ("public:space", {"slug": slug}),
    )


def public_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    slug = org.slug
    return [
        ("landing", site("/")),
        ("login", site("accounts:login")),
        ("signup", site("accounts:signup")),
        ("join", site("public:join", slug=slug)),
        ("poster", site("public:poster", slug=slug)),
        ("portal request", site(portal_request_path(slug))),
        *referral_landing_pages(site, org),
        *survey_pages(site, org),
        *community_pages(site, org),
    ]


def community_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    """The community wall, its form, and a review's thread (earlier version, public reply)."""
    try:
        reverse("public:community", kwargs={"slug": org.slug})
    except NoReverseMatch:
        return []
    from django.utils import timezone

    from cueillette.community.models import Post, PostVersion, Reply
    from cueillette.core import tenancy

    with tenancy.tenant_context(org):
        post = Post.objects.filter(display_name="Léa M.").first()
        if post is None:
            now = timezone.now()
            # Written directly (no text analysis to load): the page is what is audited.
            post = Post.objects.create(
                kind="review", rating=4, display_name="Léa M.", created_at=now, edited_at=now,
                text="Très bon accueil ; le café était froid. https://example.org/photo",
            )  # fmt: skip
            PostVersion.objects.create(post=post, number=1, text="Bon accueil.", created_at=now)
            PostVersion.objects.create(post=post, number=2, text=post.text, created_at=now)
            Reply.objects.create(post=post, author_role="owner", text="Merci !", created_at=now)
    slug = org.slug
    return [
        ("community wall", site("public:community", slug=slug)),
        ("community: write a post", site("public:community_new", slug=slug)),
        ("community thread", site("public:community_post", slug=slug, pk=post.pk)),
    ]


def referral_landing_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    """A member's invitation as their friend opens it (a referrer is created for it)."""
    try:
        reverse("public:referral_landing", kwargs={"slug": org.slug, "code": "x"})
    except NoReverseMatch:
        return []
    from cueillette.core import tenancy
    from cueillette.core.tests.factories import CustomerFactory
    from cueillette.customers.models import Customer
    from cueillette.referrals import services as referrals

    with tenancy.tenant_context(org):
        email = "pages.referrer@example.net"
        referrer = Customer.objects.filter(email=email).first() or CustomerFactory(
            organization=org, first_name="Claire", last_name="Martin", email=email
        )
        code = referrals.code_for(referrer)
    return [("referral landing", site("public:referral_landing", slug=org.slug, code=code.token))]


def survey_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    """An NPS survey as its email opens it (score 7 preselected), and its unsubscribe page."""
    try:
        reverse("public:survey", kwargs={"slug": org.slug, "token": "x"})
    except NoReverseMatch:
        return []
    from cueillette.core import tenancy
    from cueillette.customers.models import Customer
    from cueillette.feedback import services as feedback
    from cueillette.feedback.tests.conftest import make_member, make_survey

    with tenancy.tenant_context(org):
        email = "pages.survey@example.net"
        customer = Customer.objects.filter(email=email).first()
        if customer is None:
            customer, _card = make_member(org, email=email, first_name="Lucie")
        _survey, token = make_survey(customer)
        stop = feedback.unsubscribe_url(org, customer).split("://", 1)[-1].split("/", 1)[-1]
    return [
        ("NPS survey", site("public:survey", slug=org.slug, token=token) + "?score=7"),
        ("NPS unsubscribe", site("/" + stop)),
    ]


def logged_in_pages(site: Site, org: Any, customer: Any) -> list[tuple[str, str]]:
    return [
        ("staff home", site("web:home")),
        ("customer list", site("customers:list")),
        ("customer search", site("customers:list") + "?q=" + (customer.last_name or "a")),
        ("new customer", site("customers:create")),
        ("customer detail", site("customers:detail", pk=customer.pk)),
        ("edit customer", site("customers:edit", pk=customer.pk)),
        ("settings", site("accounts:settings")),
        ("team", site("accounts:staff")),
        ("consent wordings", site("customers:wordings")),
        ("possible duplicates", site("customers:duplicates")),
        ("import customers", site("customers:import")),
        ("API keys", site("apikeys:list")),
        ("new API key", site("apikeys:create")),
        ("activity log", site("customers:audit")),
        ("switch business", site("accounts:switch")),
        ("API docs", site("/api/v1/docs")),
        *_optional(
            site,
            ("loyalty: counter", "loyalty:counter"),
            ("loyalty: program", "loyalty:program_settings"),
            ("loyalty: rewards", "loyalty:program_rewards"),
            ("loyalty: tiers", "loyalty:program_tiers"),
            ("loyalty: simulate", "loyalty:program_simulate"),
            ("loyalty: dashboard", "loyalty:dashboard"),
        ),
        *_optional(
            site,
            ("referrals: list", "referrals:list"),
            ("referrals: review", "referrals:review"),
            ("referrals: rules", "referrals:settings"),
            ("referrals: advocates", "referrals:advocates"),
            ("referrals: figures", "referrals:figures"),
        ),
        *_optional(
            site,
            ("feedback: NPS", "feedback:nps"),
            ("feedback: comments", "feedback:comments"),
            ("feedback: detractors to follow up", "feedback:follow_up"),
            ("feedback: survey settings", "feedback:settings"),
        ),
        *community_staff_pages(site, org, customer),
    ]


def community_staff_pages(site: Site, org: Any, customer: Any) -> list[tuple[str, str]]:
    """The staff side of the community page: inbox, a thread with every moderator's form,
    the listening dashboard and the theme list (a post of ``customer`` is written if needed)."""
    try:
        reverse("community:inbox")
    except NoReverseMatch:
        return []
    from django.utils import timezone

    from cueillette.community.models import Post, PostVersion
    from cueillette.core import tenancy

    with tenancy.tenant_context(org):
        post = Post.objects.filter(author=customer).first()
        if post is None:
            now = timezone.now()
            # Written directly (no text analysis to load): the page is what is audited.
            post = Post.objects.create(
                kind="complaint", rating=2, author=customer, display_name="Client C.",
                created_at=now, sentiment="negative", needs_human_look=True,
                text="Vingt minutes d'attente à la caisse, personne pour en ouvrir une autre.",
            )  # fmt: skip
            PostVersion.objects.create(post=post, number=1, text=post.text, created_at=now)
    return [
        ("community: inbox", site("community:inbox")),
        ("community: unanswered", site("community:inbox") + "?show=unanswered"),
        ("community: thread (staff)", site("community:thread", pk=post.pk)),
        ("community: listening", site("community:dashboard")),
        ("community: themes and digest", site("community:settings")),
    ]


def open_space(site: Site, page: Any, org: Any, customer: Any) -> None:
    """Open the customer's space in ``page`` through a magic link, as the email would."""
    import datetime as dt

    from django.utils import timezone

    from cueillette.core import tenancy
    from cueillette.core.tokens import hash_token, new_token
    from cueillette.customers.models import AccessToken

    raw = new_token()
    with tenancy.tenant_context(org):
        AccessToken.objects.create(
            customer=customer,
            token_hash=hash_token(raw),
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
    page.goto(site("public:portal_open", slug=org.slug, token=raw))
    with page.expect_navigation():
        page.locator("main form[method=post]:not([action]) button[type=submit]").first.click()
    assert page.url == site("public:portal", slug=org.slug), page.url


def space_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    slug = org.slug
    return [
        ("customer space", site("public:portal", slug=slug)),
        ("customer space: correct my details", site("public:portal_edit", slug=slug)),
        ("customer space: erase", site("public:portal_erase", slug=slug)),
        *_optional(site, ("customer space: loyalty", "public:loyalty"), slug=slug),
        *_optional(site, ("customer space: refer a friend", "public:referral_share"), slug=slug),
    ]
