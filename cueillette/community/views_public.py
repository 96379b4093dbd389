"""The public community page of one organization (``/o/<slug>/community/``).

Anyone reads; a customer whose space is open (magic link) posts, edits their own posts, says
"me too", follows a thread and appeals a hiding; anyone else posts by confirming their email
(:mod:`cueillette.community.drafts`). Views parse, call one service, render: the rules live in
:mod:`cueillette.community.services`.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, linebreaks
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cueillette.community import drafts, notify, queries, services
from cueillette.community.forms_public import AppealForm, EditForm, PostForm, ReplyForm
from cueillette.community.models import (
    HIDE_REASON_DEFINITIONS,
    MeToo,
    Post,
    PostKind,
    PostStatus,
    Reply,
    ThreadSubscription,
)
from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tenancy import access
from cueillette.customers import portal
from cueillette.customers import services as customer_services
from cueillette.customers.errors import Code as CustomerCode
from cueillette.customers.models import ConsentWording, Customer, Purpose
from cueillette.public.forms import add_service_errors
from cueillette.public.views import (
    _portal_customer,
    _rate_limited,
    _session_key,
    _too_many,
)

FEED_SIZE = 50


def _default_name(customer: Customer) -> str:
    """First name and the initial of the last name ("Inès M."), as a starting suggestion."""
    first = (customer.first_name or "").strip()
    last = (customer.last_name or "").strip()
    if first and last:
        return f"{first} {last[0]}."
    return first or (f"{last[0]}." if last else "")


def _wall_url(org: Organization) -> str:
    return reverse("public:community", kwargs={"slug": org.slug})


def _post_url(org: Organization, post: Post) -> str:
    return reverse("public:community_post", kwargs={"slug": org.slug, "pk": post.pk})


def _space_link(org: Organization, next_path: str = "") -> str:
    """The page that emails a link to the customer's space, leading back to ``next_path``."""
    link = reverse("public:portal_request", kwargs={"slug": org.slug})
    return f"{link}?{urlencode({'next': next_path})}" if next_path else link


SENT_EMAIL_KEY = "community_sent_email_{}"


def _community_wording(request: HttpRequest) -> ConsentWording:
    return customer_services.current_wording(Purpose.COMMUNITY, request.LANGUAGE_CODE)


def _open_space(request: HttpRequest, org: Organization, customer: Customer) -> None:
    """Open the customer's space in this browser, as ``public.views.portal_open`` does."""
    request.session.cycle_key()
    request.session[_session_key(org)] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + portal.PORTAL_SESSION_AGE,
    }


def _shown_wording(request: HttpRequest, wording_id: Any) -> ConsentWording:
    """The community wording the page showed next to the inline "I agree" box (the current
    one if the id is unknown)."""
    wording = None
    if isinstance(wording_id, int) or (isinstance(wording_id, str) and wording_id.isdigit()):
        wording = ConsentWording.objects.filter(
            pk=int(wording_id), purpose=Purpose.COMMUNITY
        ).first()
    return wording or _community_wording(request)


# --------------------------------------------------------------------------- reading


@public_org
@require_GET
def wall(request: HttpRequest, org: Organization) -> HttpResponse:
    page = queries.wall(
        page=request.GET.get("page", 1),
        kind=request.GET.get("kind", ""),
        status=request.GET.get("status", ""),
    )
    context = {
        "org": org,
        "page": page,
        "summary": queries.public_summary(),
        "figures": queries.responsiveness_cached(),
        "ratings": queries.rating_summary(),
        "viewer": _portal_customer(request, org),
        "kinds": PostKind.choices,
        "statuses": PostStatus.choices,
    }
    return render(request, "community/public/wall.html", context)


@public_org
@require_GET
def thread(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    post = access(Post, pk)
    return _render_thread(request, org, post)


def _render_thread(
    request: HttpRequest,
    org: Organization,
    post: Post,
    *,
    appeal_form: AppealForm | None = None,
    reply_form: ReplyForm | None = None,
    follow_error: str = "",
    status: int = 200,
) -> HttpResponse:
    viewer = _portal_customer(request, org)
    data = queries.thread(post)
    is_author = viewer is not None and post.author_id == viewer.pk
    subscription = None
    has_consent = False
    me_too = False
    if viewer is not None:
        subscription = ThreadSubscription.objects.filter(
            post=post, customer=viewer, ended_at__isnull=True
        ).first()
        has_consent = customer_services.has_consent(viewer, Purpose.COMMUNITY)
        me_too = MeToo.objects.filter(post=post, customer=viewer).exists()
    context = {
        "org": org,
        "post": post,
        "thread": data,
        "viewer": viewer,
        "is_author": is_author,
        "can_edit": is_author and not post.hidden and not post.withdrawn,
        "can_appeal": is_author and post.hidden and not data.appealed and not post.withdrawn,
        "appeal_form": appeal_form or AppealForm(),
        "reply_form": reply_form
        or ReplyForm(
            identified=viewer is not None,
            initial={"display_name": _default_name(viewer) if viewer is not None else ""},
        ),
        "can_answer": not post.hidden and not post.withdrawn,
        "can_resolve": is_author
        and not post.withdrawn
        and post.kind in (PostKind.QUESTION, PostKind.COMPLAINT, PostKind.SUGGESTION),
        "definitions": HIDE_REASON_DEFINITIONS,
        "subscription": subscription,
        "has_consent": has_consent,
        "me_too": me_too,
        "wording": _community_wording(request),
        "follow_error": follow_error,
        # A hidden post's author who has no open space here: a link back to this thread.
        "space_link": _space_link(org, _post_url(org, post)),
    }
    return render(request, "community/public/thread.html", context, status=status)


@public_org
@require_GET
def feed(request: HttpRequest, org: Organization) -> HttpResponse:
    """Atom feed of the visible posts, newest first, with their number of replies."""
    page = queries.wall(size=FEED_SIZE)
    wall_url = settings.SITE_URL + _wall_url(org)
    atom = Atom1Feed(
        title=_("%(name)s: community page") % {"name": org.name},
        link=wall_url,
        description=_("What customers say about %(name)s, and the answers.") % {"name": org.name},
        language=request.LANGUAGE_CODE,
        feed_url=settings.SITE_URL + reverse("public:community_feed", kwargs={"slug": org.slug}),
    )
    for post in page.posts:
        if post.hidden or post.withdrawn:
            continue
        url = settings.SITE_URL + _post_url(org, post)
        replies = post.reply_count  # type: ignore[attr-defined]
        count = ngettext("%(n)d reply", "%(n)d replies", replies) % {"n": replies}
        stars = f" ({post.rating}/5)" if post.rating else ""
        atom.add_item(
            title=f"{post.get_kind_display()}{stars} — {post.shown_name}",
            link=url,
            unique_id=url,
            # Atom1Feed writes an HTML summary: the customer's text goes in escaped, so a feed
            # reader shows "<b>" as typed instead of making it bold (or running a script).
            description=linebreaks(post.text, autoescape=True) + f"<p>{escape(count)}</p>",
            pubdate=post.created_at,
            updateddate=post.edited_at or post.created_at,
            author_name=post.shown_name,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    atom.write(response, "utf-8")
    return response


# --------------------------------------------------------------------------- writing


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def new_post(request: HttpRequest, org: Organization) -> HttpResponse:
    viewer = _portal_customer(request, org)
    wording = _community_wording(request)
    has_consent = viewer is not None and customer_services.has_consent(viewer, Purpose.COMMUNITY)
    if request.method == "POST":
        if _rate_limited(request, "community"):
            return _too_many(request, org)
        form = PostForm(
            request.POST, identified=viewer is not None, wording=wording, has_consent=has_consent
        )
        if form.is_bot:
            # The same answer as a success: a bot learns nothing, nothing is written.
            return _draft_sent(request, org, str(request.POST.get("email", ""))[:254])
        if form.is_valid():
            data = form.cleaned_data
            try:
                if viewer is not None:
                    post = _publish(request, viewer, data)
                else:
                    drafts.start_draft(
                        data["email"],
                        data["display_name"],
                        data["kind"],
                        data["text"],
                        data["rating"],
                        subscribe=bool(data.get("follow") and data.get("consent")),
                        language=request.LANGUAGE_CODE,
                    )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                if viewer is None:
                    return _draft_sent(request, org, data["email"])
                messages.success(request, _("Thank you: your post is published."))
                return redirect(_post_url(org, post))
    else:
        initial: dict[str, Any] = {"kind": request.GET.get("kind", "")}
        if viewer is not None:
            initial["display_name"] = _default_name(viewer)
        form = PostForm(
            initial=initial,
            identified=viewer is not None,
            wording=wording,
            has_consent=has_consent,
        )
    context = {"org": org, "form": form, "viewer": viewer, "wording": wording}
    return render(request, "community/public/new.html", context, status=_status(form))


def _draft_sent(request: HttpRequest, org: Organization, email: str) -> HttpResponse:
    """POST/redirect/GET: reloading the "check your email" page sends nothing again. The
    address to show goes through the session, never the URL."""
    request.session[SENT_EMAIL_KEY.format(org.pk)] = email.strip()
    return redirect("public:community_new_sent", slug=org.slug)


@never_cache
@public_org
@require_GET
def draft_sent(request: HttpRequest, org: Organization) -> HttpResponse:
    """The "check your email" page after an anonymous post (shown once with the address)."""
    email = request.session.pop(SENT_EMAIL_KEY.format(org.pk), "")
    context = {"org": org, "email": email if isinstance(email, str) else ""}
    return render(request, "community/public/check_email.html", context)


def _status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200


def _publish(request: HttpRequest, customer: Customer, data: dict[str, Any]) -> Post:
    """An identified customer's post, and following its replies if they asked (one action:
    without the consent, the post is not written either and the form says why)."""
    consent = bool(data.get("follow") and data.get("consent"))
    return services.publish_post(
        customer,
        kind=data["kind"],
        text=data["text"],
        display_name=data["display_name"],
        rating=data["rating"],
        actor=portal.portal_actor(),
        follow=bool(data.get("follow")),
        consent_wording=_shown_wording(request, data.get("wording")) if consent else None,
        language=request.LANGUAGE_CODE,
    )


def _identified(request: HttpRequest, org: Organization) -> Customer | None:
    customer = _portal_customer(request, org)
    if customer is None:
        messages.info(request, _("Open your space first: we email you a link."))
    return customer


def _to_space(org: Organization, post: Post | None = None) -> HttpResponse:
    """To the page that emails a space link; the link then leads back to the post's thread."""
    return redirect(_space_link(org, _post_url(org, post) if post is not None else ""))


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def edit_post(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    if post.author_id != customer.pk:
        raise Http404
    if request.method == "GET" and post.hidden:
        messages.info(request, _("A hidden post cannot be edited. You can appeal instead."))
        return redirect(_post_url(org, post) + "#appeal")
    if request.method == "POST":
        form = EditForm(request.POST)
        if form.is_valid():
            try:
                services.edit_post(
                    post,
                    customer,
                    text=form.cleaned_data["text"],
                    rating=form.cleaned_data["rating"],
                    actor=portal.portal_actor(),
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Your post is updated; the earlier text stays visible.")
                )
                return redirect(_post_url(org, post))
    else:
        rating = str(post.rating) if post.rating else ""
        form = EditForm(initial={"text": post.text, "rating": rating})
    context = {
        "org": org,
        "post": post,
        "form": form,
        # The stars are offered on reviews and on posts that already have some; an error about
        # them on another post is shown at the top of the form, where the page has room for it.
        "show_rating": post.kind == PostKind.REVIEW or bool(post.rating),
    }
    return render(request, "community/public/edit.html", context, status=_status(form))


@public_org
@require_POST
def me_too(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    try:
        services.add_me_too(post, customer)
    except ServiceError as exc:
        messages.info(request, exc.message)
    else:
        messages.success(request, _("Thank you: your “me too” is counted."))
    return redirect(_post_url(org, post) + "#me-too")


@public_org
@require_POST
def subscribe(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    wording = None
    if request.POST.get("consent"):
        wording = _shown_wording(request, request.POST.get("wording"))
    try:
        services.follow_thread(
            post, customer, consent_wording=wording, language=request.LANGUAGE_CODE
        )
    except ServiceError as exc:
        if exc.field == "consent":
            # Next to the box to tick (the page again, with the error tied to the checkbox).
            error = _("To be emailed about replies, tick the box to agree to community emails.")
            return _render_thread(request, org, post, follow_error=error, status=400)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done: we will email you when the business replies here."))
    return redirect(_post_url(org, post) + "#follow")


@never_cache
@csrf_exempt  # RFC 8058 one-click: mail clients POST without a form; the signed token is the key
@public_org
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """GET shows one button; POST (the button, or a mail client's one-click) stops the emails.
    Idempotent: a second POST answers the same."""
    subscription = notify.subscription_for_token(token)
    post = subscription.post
    if request.method == "POST":
        services.unsubscribe(subscription)
        return render(request, "community/public/unsubscribed.html", {"org": org, "post": post})
    context = {"org": org, "post": post, "subscription": subscription}
    return render(request, "community/public/unsubscribe.html", context)


@public_org
@require_POST
def appeal(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            services.appeal(post, customer, text=form.cleaned_data["text"])
        except ServiceError as exc:
            if exc.field in form.fields:
                add_service_errors(form, exc)
                return _render_thread(request, org, post, appeal_form=form, status=400)
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Your appeal is sent: the owner decides, and we will tell you.")
            )
            return redirect(_post_url(org, post) + "#appeal")
    return redirect(_post_url(org, post))


@public_org
@require_POST
def answer(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    """A customer's answer in the thread: published at once from an open space, otherwise
    held until the email's link is pressed (rate limit and honeypot as for a post)."""
    post = access(Post, pk)
    if _rate_limited(request, "community"):
        return _too_many(request, org)
    viewer = _portal_customer(request, org)
    form = ReplyForm(request.POST, identified=viewer is not None)
    if form.is_bot:
        return _draft_sent(request, org, str(request.POST.get("email", ""))[:254])
    if form.is_valid():
        data = form.cleaned_data
        try:
            if viewer is not None:
                item = services.customer_reply(
                    post,
                    viewer,
                    text=data["text"],
                    display_name=data["display_name"],
                    actor=portal.portal_actor(),
                )
            else:
                drafts.start_reply_draft(
                    post,
                    data["email"],
                    data["display_name"],
                    data["text"],
                    language=request.LANGUAGE_CODE,
                )
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            if viewer is None:
                return _draft_sent(request, org, data["email"])
            messages.success(request, _("Thank you: your answer is published."))
            return redirect(_post_url(org, post) + f"#reply-{item.pk}")
    return _render_thread(request, org, post, reply_form=form, status=400)


@public_org
@require_POST
def resolve(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    """The author marks their question or complaint resolved, or opens it again."""
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    resolved = request.POST.get("resolved") == "1"
    try:
        services.author_set_status(post, customer, resolved=resolved, actor=portal.portal_actor())
    except ServiceError as exc:
        messages.info(request, exc.message)
    else:
        messages.success(
            request,
            _("Marked as resolved: thank you for saying so.")
            if resolved
            else _("Open again: the business sees it in its inbox."),
        )
    return redirect(_post_url(org, post) + "#resolve")


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    """GET asks to confirm; POST withdraws the author's post (a stub stays in its place)."""
    post = access(Post, pk)
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    if post.author_id != customer.pk:
        raise Http404
    if request.method == "POST":
        try:
            services.withdraw_post(post, customer, actor=portal.portal_actor())
        except ServiceError as exc:
            messages.info(request, exc.message)
        else:
            messages.success(request, _("Your post is withdrawn: a notice says so in its place."))
        return redirect(_post_url(org, post))
    return render(request, "community/public/withdraw.html", {"org": org, "post": post})


@public_org
@require_POST
def appeal_answer(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    """The writer of a hidden answer appeals it, once."""
    item = access(Reply, pk)
    post = item.post
    customer = _identified(request, org)
    if customer is None:
        return _to_space(org, post)
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            services.appeal(post, customer, text=form.cleaned_data["text"], reply=item)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Your appeal is sent: the owner decides, and we will tell you.")
            )
    return redirect(_post_url(org, post) + f"#reply-{item.pk}")


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """The emailed link of a first post: GET shows a button; its POST publishes, once."""
    try:
        if request.method == "POST":
            done = drafts.confirm_draft(token)
        else:
            draft = drafts.draft_for_token(token)
            return render(request, "community/public/confirm.html", {"org": org, "draft": draft})
    except ServiceError as exc:
        status = 410 if exc.code in (CustomerCode.TOKEN_EXPIRED, CustomerCode.TOKEN_USED) else 400
        context = {"org": org, "code": exc.code, "message": exc.message}
        return render(request, "community/public/link_problem.html", context, status=status)
    _open_space(request, org, done.customer)
    if done.reply is not None:
        messages.success(request, _("Thank you: your answer is published."))
        return redirect(_post_url(org, done.post) + f"#reply-{done.reply.pk}")
    messages.success(request, _("Thank you: your post is published."))
    return redirect(_post_url(org, done.post))
