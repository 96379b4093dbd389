"""Staff pages of the community page, mounted at /app/community/ (namespace "community").

They only translate: parse, access, call one service (or one read), render. Who may do what
is checked twice, the same way: here by ``@staff_required(Perm.X)`` (a refused role gets 403
before anything is read or written) and in the services by the same permission.

There is no delete anywhere: a post can be hidden for a listed reason and shown again.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.accounts.models import Membership
from cueillette.community import dashboard as listening
from cueillette.community import queries, services, tasks
from cueillette.community.models import (
    HIDE_REASON_DEFINITIONS,
    MIN_REJECTION_NOTE,
    Appeal,
    AppealDecision,
    HideReason,
    Post,
    PostKind,
    PostStatus,
    Reply,
    Sentiment,
)
from cueillette.core.decorators import request_can, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.customers import queries as customer_queries
from cueillette.customers.models import Customer
from cueillette.web.charts import Bar, bar_chart

PAGE_SIZE = 30

SHOW_FILTERS: dict[str, Any] = {
    "all": gettext_lazy("All posts"),
    "unanswered": gettext_lazy("Unanswered"),
    "negative": gettext_lazy("Negative"),
    "look": gettext_lazy("Needs a human look"),
    "hidden": gettext_lazy("Hidden"),
    "appeals": gettext_lazy("Appeals pending"),
}


ROLE_LABELS: dict[str, Any] = {
    "owner": gettext_lazy("Owner"),
    "manager": gettext_lazy("Manager"),
    "counter": gettext_lazy("Counter staff"),
    "customer": gettext_lazy("Author"),
    "system": gettext_lazy("System"),
    "api": gettext_lazy("Till (API)"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def _membership(request: HttpRequest) -> Membership:
    return cast(Membership, request.membership)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- inbox


def _filtered(params: dict[str, str]) -> QuerySet[Any]:
    qs = Post.objects.annotate(
        reply_count=Count("replies", distinct=True, filter=listening.BUSINESS_REPLIES),
        me_too_count=Count("me_toos", distinct=True),
        pending_appeal=Exists(
            Appeal.objects.filter(post=OuterRef("pk"), decision=AppealDecision.PENDING)
        ),
    )
    show = params["show"]
    if show == "unanswered":
        qs = qs.filter(hidden=False, reply_count=0)
    elif show == "negative":
        qs = qs.filter(sentiment=Sentiment.NEGATIVE)
    elif show == "look":
        qs = qs.filter(needs_human_look=True)
    elif show == "hidden":
        qs = qs.filter(hidden=True)
    elif show == "appeals":
        qs = qs.filter(pending_appeal=True)
    if params["kind"] in PostKind.values:
        qs = qs.filter(kind=params["kind"])
    if params["status"] in PostStatus.values:
        qs = qs.filter(status=params["status"])
    if params["theme"]:
        theme = params["theme"]
        ids = [
            pk
            for pk, detected, tagged in qs.values_list("pk", "detected_themes", "themes")
            if theme in (detected or ()) or theme in (tagged or ())
        ]
        qs = qs.filter(pk__in=ids)
    # Unanswered posts: the oldest first (they have waited longest); otherwise newest first.
    if show == "unanswered":
        return qs.order_by("created_at", "id")
    return qs.order_by("-created_at", "-id")


@staff_required(Perm.REPLY_COMMUNITY)
def inbox(request: HttpRequest) -> HttpResponse:
    params = {
        "show": request.GET.get("show", "all"),
        "kind": request.GET.get("kind", ""),
        "status": request.GET.get("status", ""),
        "theme": request.GET.get("theme", "")[:100],
    }
    if params["show"] not in SHOW_FILTERS:
        params["show"] = "all"
    page = Paginator(_filtered(params), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = {
        "unanswered": listening.unanswered().count(),
        "look": Post.objects.filter(needs_human_look=True, hidden=False).count(),
        "appeals": Appeal.objects.filter(decision=AppealDecision.PENDING).count(),
        "hidden": Post.objects.filter(hidden=True).count(),
    }
    query = {k: v for k, v in params.items() if v and not (k == "show" and v == "all")}
    return render(
        request,
        "community/staff/inbox.html",
        {
            "page": page,
            "params": params,
            "query": query,
            "counts": counts,
            "shows": [(key, str(label)) for key, label in SHOW_FILTERS.items()],
            "kinds": PostKind.choices,
            "statuses": PostStatus.choices,
            "themes": [(name, listening.theme_label(name)) for name in services.theme_list()],
            "summary": queries.public_summary(),
            "section": "inbox",
        },
    )


# --------------------------------------------------------------------------- thread


def _thread(
    request: HttpRequest,
    post: Post,
    *,
    error: ServiceError | None = None,
    error_for: str = "",
    values: dict[str, Any] | None = None,
) -> HttpResponse:
    membership = _membership(request)
    q = request.GET.get("q", "").strip()[:100]
    results: list[Customer] = []
    if q and request_can(request, Perm.REPLY_COMMUNITY):
        results = list(customer_queries.search(q)[:10])
    org_themes = services.theme_list()
    theme_choices = [(name, listening.theme_label(name)) for name in org_themes]
    theme_choices += [(t, t) for t in post.themes if t not in org_themes]
    appeals = list(post.appeals.select_related("decided_by").order_by("id"))
    status = 200
    if error is not None:
        status = error.status if error.status >= 400 else 400
    return render(
        request,
        "community/staff/thread.html",
        {
            "post": post,
            "versions": list(post.versions.order_by("number")),
            "replies": list(Reply.objects.filter(post=post).select_related("author")),
            "history": [(e, role_label(e.actor_role)) for e in queries.history(post)],
            "appeals": appeals,
            "pending_appeal": next(
                (a for a in appeals if a.decision == AppealDecision.PENDING), None
            ),
            "me_too": post.me_toos.count(),
            "subscribers": len(services.active_subscriptions(post)),
            "statuses": PostStatus.choices,
            "reasons": HideReason.choices,
            "min_rejection_note": MIN_REJECTION_NOTE,
            "theme_choices": theme_choices,
            "q": q,
            "results": results,
            "can_moderate": request_can(request, Perm.MODERATE_COMMUNITY),
            "can_decide": request_can(request, Perm.DECIDE_APPEALS),
            "can_reply": request_can(request, Perm.REPLY_COMMUNITY),
            "role": membership.role,
            "error": error,
            "error_for": error_for,
            "values": values or {},
            "section": "inbox",
        },
        status=status,
    )


@staff_required(Perm.REPLY_COMMUNITY)
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    return _thread(request, access(Post, pk))


def _act(
    request: HttpRequest,
    post: Post,
    name: str,
    run: Any,
    done: str,
    values: dict[str, Any] | None = None,
) -> HttpResponse:
    """Run one service call; on a refusal show the thread again with the error by the form."""
    try:
        run()
    except ServiceError as exc:
        post.refresh_from_db()
        return _thread(request, post, error=exc, error_for=name, values=values)
    messages.success(request, done)
    return redirect("community:thread", pk=post.pk)


@require_POST
@staff_required(Perm.REPLY_COMMUNITY)
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    text = request.POST.get("text", "")
    return _act(
        request,
        post,
        "reply",
        lambda: services.reply(post, _membership(request), text=text),
        _("Your reply is published under the post."),
        {"text": text},
    )


@require_POST
@staff_required(Perm.MODERATE_COMMUNITY)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    note = request.POST.get("note", "")
    return _act(
        request,
        post,
        "acknowledge",
        lambda: services.acknowledge(post, _membership(request), note=note),
        _("“We got this wrong” is now shown on the post."),
        {"ack_note": note},
    )


@require_POST
@staff_required(Perm.MODERATE_COMMUNITY)
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    status = request.POST.get("status", "")
    note = request.POST.get("note", "")
    return _act(
        request,
        post,
        "status",
        lambda: services.set_status(post, _membership(request), status=status, note=note),
        _("The status of the post was changed."),
        {"status": status, "status_note": note},
    )


@require_POST
@staff_required(Perm.REPLY_COMMUNITY)
def link_customer(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    raw = request.POST.get("customer", "")
    customer: Customer | None = None
    if raw:
        if not raw.isdigit():
            return _thread(
                request,
                post,
                error=ServiceError("invalid", _("choose a customer record"), field="customer"),
                error_for="link",
            )
        customer = access(Customer, int(raw))
    return _act(
        request,
        post,
        "link",
        lambda: services.link_customer(post, _membership(request), customer),
        _("The post is linked to the customer record.")
        if customer
        else _("The link to the customer record was removed."),
    )


@require_POST
@staff_required(Perm.REPLY_COMMUNITY)
def tag_themes(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    themes = request.POST.getlist("themes")
    return _act(
        request,
        post,
        "themes",
        lambda: services.tag_themes(post, _membership(request), themes),
        _("The themes of the post were saved."),
    )


def _reason_rows(chosen: str) -> list[dict[str, Any]]:
    return [
        {
            "value": value,
            "label": label,
            "definition": HIDE_REASON_DEFINITIONS[value],
            "checked": value == chosen,
        }
        for value, label in HideReason.choices
    ]


def _hide_page(
    request: HttpRequest,
    post: Post,
    target: Reply | None,
    *,
    error: ServiceError | None = None,
) -> HttpResponse:
    """The confirmation before hiding (a page of its own, no script needed): the listed
    reasons with what each covers; for criticism, the warning and the passage to quote."""
    source = request.POST if request.method == "POST" else request.GET
    text = target.text if target is not None else post.text
    criticism = (
        services.reply_is_criticism(target)
        if target is not None
        else services.post_is_criticism(post)
    )
    status = 200
    if error is not None:
        status = error.status if error.status >= 400 else 400
    return render(
        request,
        "community/staff/hide_confirm.html",
        {
            "post": post,
            "target": target,
            "text": text,
            "criticism": criticism,
            "reasons": _reason_rows(str(source.get("reason", ""))),
            "passage": source.get("passage", ""),
            "note": source.get("note", ""),
            "error": error,
            "section": "inbox",
        },
        status=status,
    )


def _confirmed_hide(request: HttpRequest, post: Post, target: Reply | None) -> HttpResponse:
    if request.method == "GET" or request.POST.get("confirmed") != "1":
        return _hide_page(request, post, target)
    reason = request.POST.get("reason", "")
    note = request.POST.get("note", "")
    passage = request.POST.get("passage", "")
    try:
        if target is None:
            services.hide_post(
                post, _membership(request), reason=reason, note=note, passage=passage
            )
        else:
            services.hide_reply(
                target, _membership(request), reason=reason, note=note, passage=passage
            )
    except ServiceError as exc:
        post.refresh_from_db()
        return _hide_page(request, post, target, error=exc)
    messages.success(
        request,
        _("The post is hidden; a notice with the reason is shown in its place.")
        if target is None
        else _("The answer is hidden; a notice with the reason is shown in its place."),
    )
    return redirect("community:thread", pk=post.pk)


@require_http_methods(["GET", "POST"])
@staff_required(Perm.MODERATE_COMMUNITY)
def hide(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page; POST from it (``confirmed=1``): hide."""
    return _confirmed_hide(request, access(Post, pk), None)


@require_http_methods(["GET", "POST"])
@staff_required(Perm.MODERATE_COMMUNITY)
def hide_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """The same confirmation, for a customer's answer in a thread."""
    target = access(Reply, pk)
    return _confirmed_hide(request, target.post, target)


@require_POST
@staff_required(Perm.MODERATE_COMMUNITY)
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    post = access(Post, pk)
    note = request.POST.get("note", "")
    return _act(
        request,
        post,
        "restore",
        lambda: services.restore_post(post, _membership(request), note=note),
        _("The post is shown again."),
        {"restore_note": note},
    )


@require_POST
@staff_required(Perm.DECIDE_APPEALS)
def decide_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    item = access(Appeal, pk)
    post = item.post
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "")
    if decision not in ("upheld", "rejected"):
        return _thread(
            request,
            post,
            error=ServiceError(
                "invalid", _("choose to uphold or reject the appeal"), field="decision"
            ),
            error_for="appeal",
            values={"appeal_note": note},
        )
    upheld = decision == "upheld"
    return _act(
        request,
        post,
        "appeal",
        lambda: services.decide_appeal(item, _membership(request), upheld=upheld, note=note),
        _("Appeal upheld: the post is shown again.")
        if upheld
        else _("Appeal rejected: the post stays hidden."),
        {"appeal_note": note},
    )


# --------------------------------------------------------------------------- dashboard


def _duration(delta: Any) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours = minutes / 60
    # number_format: "2,5 jours" in French, "2.5 days" in English.
    if hours < 48:
        return _("%(n)s h") % {"n": number_format(hours, 1)}
    return _("%(n)s days") % {"n": number_format(hours / 24, 1)}


def _charts(board: listening.Dashboard) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = []
    stars = [
        Bar(_("%(n)d ★") % {"n": n}, board.ratings[n], str(board.ratings[n]))
        for n in range(5, 0, -1)
    ]
    charts.append(
        {
            "id": "chart-ratings",
            "title": _("Ratings"),
            "svg": bar_chart("chart-ratings", _("Ratings"), stars),
            "rows": [(b.label, b.text) for b in stars],
            "head": (_("Stars"), _("Posts")),
            "empty": board.rated == 0,
        }
    )
    from decimal import Decimal

    months = [
        Bar(
            m.month.strftime("%m/%Y"),
            Decimal(str(m.average or 0)),
            f"{number_format(m.average, 1)} ({m.count})" if m.average is not None else "—",
        )
        for m in board.months
    ]
    charts.append(
        {
            "id": "chart-months",
            "title": _("Average rating by month"),
            "svg": bar_chart(
                "chart-months",
                _("Average rating by month"),
                months,
                description=_("Average stars of the rated posts of each month, with their count"),
            ),
            "rows": [(b.label, b.text) for b in months],
            "head": (_("Month"), _("Average (rated posts)")),
            "empty": board.rated == 0,
        }
    )
    labels = dict(Sentiment.choices)
    feelings = [
        Bar(str(labels[key]), board.sentiments.get(key, 0), str(board.sentiments.get(key, 0)))
        for key in Sentiment.values
    ]
    charts.append(
        {
            "id": "chart-sentiment",
            "title": _("Sentiment of posts"),
            "svg": bar_chart("chart-sentiment", _("Sentiment of posts"), feelings, color="#36597a"),
            "rows": [(b.label, b.text) for b in feelings],
            "head": (_("Sentiment"), _("Posts")),
            "empty": board.posts == 0,
        }
    )
    themes = [Bar(listening.theme_label(n), c, str(c)) for n, c in board.themes[:12]]
    charts.append(
        {
            "id": "chart-themes",
            "title": _("Recurring themes"),
            "svg": bar_chart("chart-themes", _("Recurring themes"), themes, color="#7a5a36"),
            "rows": [(b.label, b.text) for b in themes],
            "head": (_("Theme"), _("Posts")),
            "empty": not themes,
            "theme_keys": [n for n, _c in board.themes[:12]],
        }
    )
    return charts


@staff_required(Perm.VIEW_COMMUNITY_DASHBOARD)
def dashboard(request: HttpRequest) -> HttpResponse:
    board = listening.build(timezone.now())
    return render(
        request,
        "community/staff/dashboard.html",
        {
            "board": board,
            "charts": _charts(board),
            "median_reply": _duration(board.median_first_reply),
            "summary": queries.public_summary(),
            "section": "dashboard",
        },
    )


# --------------------------------------------------------------------------- settings

EXTRA_ROWS = 3


def _theme_rows(themes: dict[str, list[str]]) -> list[dict[str, Any]]:
    """One row per theme: its name as shown (a suggested theme in the reader's language) and
    its stored key, so saving the page unchanged keeps the keys posts are tagged with."""
    rows = [
        {"key": name, "name": listening.theme_label(name), "keywords": ", ".join(words)}
        for name, words in themes.items()
    ]
    return rows + [{"key": "", "name": "", "keywords": ""} for _i in range(EXTRA_ROWS)]


def _posted_rows(request: HttpRequest) -> list[dict[str, Any]]:
    try:
        count = min(int(request.POST.get("rows", "0")), 200)
    except ValueError:
        count = 0
    return [
        {
            "key": request.POST.get(f"theme-{i}-key", ""),
            "name": request.POST.get(f"theme-{i}-name", ""),
            "keywords": request.POST.get(f"theme-{i}-keywords", ""),
        }
        for i in range(count)
    ]


def _stored_name(row: dict[str, Any], known: set[str]) -> str:
    """The name to store for a posted row: its key when the shown name was left as it was
    (a suggested theme keeps "welcome" whatever the page's language), else the typed name."""
    key, name = str(row["key"]), str(row["name"]).strip()
    if key in known and name in {key, listening.theme_label(key)}:
        return key
    return name


def _renames(rows: list[dict[str, Any]], known: set[str]) -> dict[str, str]:
    """{old key: new name} for the rows whose name was changed (not emptied)."""
    renames: dict[str, str] = {}
    for row in rows:
        key, stored = str(row["key"]), _stored_name(row, known)
        if key in known and stored and stored != key:
            renames[key] = stored
    return renames


@staff_required(Perm.VIEW_COMMUNITY_DASHBOARD)
def community_settings(request: HttpRequest) -> HttpResponse:
    current = services.get_settings()
    status = 200
    error: ServiceError | None = None
    rows = _theme_rows(services.theme_list(current))
    digest_enabled = current.digest_enabled
    if request.method == "POST":
        action = request.POST.get("action", "save")
        digest_enabled = request.POST.get("digest_enabled") == "1"
        posted = _posted_rows(request)
        try:
            if action == "reset":
                services.update_settings(_membership(request), reset_themes=True)
                messages.success(request, _("The suggested theme list is back."))
            else:
                known = set(services.theme_list(current))
                services.update_settings(
                    _membership(request),
                    themes=[(_stored_name(r, known), r["keywords"]) for r in posted],
                    renames=_renames(posted, known),
                    digest_enabled=digest_enabled,
                )
                messages.success(
                    request,
                    _(
                        "The community settings were saved. Re-analyse the posts to apply a "
                        "new theme list to the earlier ones."
                    ),
                )
        except ServiceError as exc:
            error = exc
            status = exc.status if exc.status >= 400 else 400
            rows = posted + [{"key": "", "name": "", "keywords": ""} for _i in range(EXTRA_ROWS)]
            for index, row in enumerate(rows):
                row["name_invalid"] = exc.field == f"theme-{index}-name"
                row["keywords_invalid"] = exc.field == f"theme-{index}-keywords"
        else:
            return redirect("community:settings")
    return render(
        request,
        "community/staff/settings.html",
        {
            "rows": rows,
            "error": error,
            "digest_enabled": digest_enabled,
            "using_defaults": not current.themes,
            "last_digest": current.digest_last_sent_at,
            "post_count": Post.objects.count(),
            "inline_max": services.REANALYSE_INLINE_MAX,
            "section": "settings",
        },
        status=status,
    )


@require_POST
@staff_required(Perm.VIEW_COMMUNITY_DASHBOARD)
def reanalyse(request: HttpRequest) -> HttpResponse:
    total = Post.objects.count()
    if total > services.REANALYSE_INLINE_MAX:
        tasks.reanalyse_posts.enqueue(current_org().pk)
        services.record_reanalysis(_membership(request), total, queued=True)
        messages.success(
            request,
            _("%(n)d posts will be analysed again in the background in a few minutes.")
            % {"n": total},
        )
    else:
        done, _last = services.reanalyse_posts(limit=services.REANALYSE_INLINE_MAX)
        services.record_reanalysis(_membership(request), done, queued=False)
        messages.success(request, _("%(n)d posts were analysed again.") % {"n": done})
    return redirect("community:settings")
