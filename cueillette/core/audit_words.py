"""The activity log in words: every action, actor and object of an audit row as a sentence.

Services record codes (``community.post_hidden``, ``data={"before": ..., "after": ...}``)
because codes outlive wording changes and translate; people read this module's sentences, in
French or English. :data:`ACTIONS` maps every action code to its label and to a function that
words its data; ``tests/test_audit_words.py`` reads every ``audit.record(...)`` call in the
code and fails when an action, or a data key, has no words here.

App enumerations (purposes, roles, hide reasons...) are imported when a row is worded, not at
import time: the log speaks of every app, and core must not import them while loading.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from cueillette.core.models import AuditEvent

Details = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class ActionWords:
    label: Promise  # what happened, as a heading: "Post hidden"
    details: Details | None = None  # the data, as sentences


ACTIONS: dict[str, ActionWords] = {}


def words(action: str, label: Promise, details: Details | None = None) -> None:
    """Register the words of one action code (an app may add its own the same way)."""
    ACTIONS[action] = ActionWords(label, details)


# --------------------------------------------------------------------------- values


def _choice(enum_path: str, value: Any) -> str:
    """The label of ``value`` in the TextChoices at ``module:Class``; the value if unknown."""
    module_name, class_name = enum_path.split(":")
    choices = getattr(importlib.import_module(module_name), class_name)
    try:
        return str(choices(str(value)).label)
    except ValueError:
        return str(value)


def purpose(value: Any) -> str:
    return _choice("cueillette.customers.models:Purpose", value)


def source(value: Any) -> str:
    return _choice("cueillette.customers.models:Source", value)


def role(value: Any) -> str:
    return _choice("cueillette.accounts.models:Role", value)


def points(value: Any) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return str(value)
    return ngettext("%(n)s point", "%(n)s points", abs(n)) % {
        "n": formats.number_format(n, force_grouping=True)
    }


def money(value: Any) -> str:
    from babel.numbers import format_currency

    from cueillette.core.tenancy import current_org_or_none

    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    org = current_org_or_none()
    currency = org.currency if org is not None else "EUR"
    locale = translation.to_locale(translation.get_language() or "fr")
    return str(format_currency(amount, currency, locale=locale))


def day(value: Any) -> str:
    try:
        parsed = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return str(formats.date_format(parsed, "DATE_FORMAT"))


def yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


FIELD_LABELS: dict[str, Promise] = {
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "email": gettext_lazy("email"),
    "phone": gettext_lazy("phone"),
    "postal_code": gettext_lazy("postal code"),
    "language": gettext_lazy("language"),
    "birthday": gettext_lazy("birthday"),
    "notes": gettext_lazy("notes"),
    "tags": gettext_lazy("tags"),
    "heard_from": gettext_lazy("how they heard of us"),
    "heard_from_detail": gettext_lazy("how they heard of us (detail)"),
    "name": gettext_lazy("name"),
    "slug": gettext_lazy("public address"),
    "timezone": gettext_lazy("time zone"),
    "currency": gettext_lazy("currency"),
    "retention_days": gettext_lazy("retention period"),
    "contact_email": gettext_lazy("contact email"),
    "address": gettext_lazy("address"),
    "active": gettext_lazy("available"),
    "cost": gettext_lazy("cost"),
    "stock": gettext_lazy("stock"),
    "threshold": gettext_lazy("threshold"),
    "multiplier": gettext_lazy("multiplier"),
    "themes": gettext_lazy("themes"),
    "digest_enabled": gettext_lazy("weekly digest"),
}


def field_names(value: Any) -> str:
    """``["first_name", "email"]`` -> "first name, email" (unknown names made readable)."""
    names = value if isinstance(value, list | tuple) else [value]
    return ", ".join(
        str(FIELD_LABELS.get(str(n), str(n).replace("_", " "))) for n in names if n != ""
    )


def listing(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} → {v}" for k, v in value.items()) or "—"
    return "—" if value in (None, "") else str(value)


# How a data key left without a sentence of its own reads: "<label>: <value>".
KEY_LABELS: dict[str, tuple[Promise, Callable[[Any], str]]] = {
    "slug": (gettext_lazy("public address"), str),
    "fields": (gettext_lazy("changed"), field_names),
    "changed": (gettext_lazy("changed"), field_names),
    "filled_fields": (gettext_lazy("filled in"), field_names),
    "role": (gettext_lazy("role"), role),
    "old_role": (gettext_lazy("previous role"), role),
    "new_role": (gettext_lazy("new role"), role),
    "user_id": (gettext_lazy("staff account"), lambda v: f"#{v}"),
    "invitation_id": (gettext_lazy("invitation"), lambda v: f"#{v}"),
    "reason": (gettext_lazy("reason"), str),
    "prefix": (gettext_lazy("key"), lambda v: f"cue_{v}_…"),
    "scope": (
        gettext_lazy("access"),
        lambda v: _("read and write") if v == "write" else _("read only"),
    ),
    "kind": (gettext_lazy("kind"), lambda v: _choice("cueillette.community.models:PostKind", v)),
    "post": (gettext_lazy("post"), lambda v: f"#{v}"),
    "new_customer": (gettext_lazy("new customer"), yes_no),
    "rating": (gettext_lazy("stars"), lambda v: "—" if v is None else str(v)),
    "sentiment": (
        gettext_lazy("tone"),
        lambda v: _choice("cueillette.community.models:Sentiment", v),
    ),
    "version": (gettext_lazy("version"), str),
    "appeal": (gettext_lazy("appeal"), lambda v: f"#{v}"),
    "reply": (gettext_lazy("reply"), lambda v: f"#{v}"),
    "customer": (gettext_lazy("customer"), lambda v: f"#{v}"),
    "decision": (
        gettext_lazy("decision"),
        lambda v: _choice("cueillette.community.models:AppealDecision", v),
    ),
    "posts": (gettext_lazy("posts"), str),
    "queued": (gettext_lazy("in the background"), yes_no),
    "themes": (gettext_lazy("themes"), listing),
    "digest_enabled": (gettext_lazy("weekly digest"), yes_no),
    "renamed": (gettext_lazy("renamed"), listing),
    "posts_retagged": (gettext_lazy("posts re-tagged"), str),
    "recipients": (gettext_lazy("recipients"), str),
    "rows": (gettext_lazy("rows"), str),
    "created": (gettext_lazy("created"), str),
    "duplicates": (gettext_lazy("duplicates skipped"), str),
    "bad_rows": (gettext_lazy("rows refused"), str),
    "consents": (gettext_lazy("consents recorded"), str),
    "confirmations_requested": (gettext_lazy("confirmation emails"), str),
    "all_or_nothing": (gettext_lazy("all or nothing"), yes_no),
    "formats": (gettext_lazy("formats"), listing),
    "merged_records": (gettext_lazy("merged records"), str),
    "erase_on": (gettext_lazy("erasure on"), day),
    "purpose": (gettext_lazy("purpose"), purpose),
    "language": (
        gettext_lazy("language"),
        lambda v: {"fr": "français", "en": "English"}.get(str(v), str(v)),
    ),
    "text_hash": (gettext_lazy("text fingerprint"), lambda v: str(v)[:12]),
    "source": (gettext_lazy("how"), source),
    "merged_from": (gettext_lazy("merged record"), lambda v: f"#{v}"),
    "consent_entries_copied": (gettext_lazy("consent entries copied"), str),
    "wording_version": (gettext_lazy("text version"), str),
    "event_id": (gettext_lazy("consent entry"), lambda v: f"#{v}"),
    "format": (gettext_lazy("format"), lambda v: str(v).upper()),
    "surveys": (gettext_lazy("surveys"), str),
    "notes": (gettext_lazy("notes"), str),
    "values": (gettext_lazy("new values"), listing),
    "purchase": (gettext_lazy("purchase"), lambda v: "—" if v is None else f"#{v}"),
    "consent_event": (gettext_lazy("consent entry"), lambda v: f"#{v}"),
    "score": (gettext_lazy("score"), lambda v: f"{v}/10"),
    "category": (
        gettext_lazy("category"),
        lambda v: _choice("cueillette.feedback.models:Category", v),
    ),
    "with_comment": (gettext_lazy("with a comment"), yes_no),
    "promoter_invited": (gettext_lazy("invited to recommend us"), yes_no),
    "previous": (gettext_lazy("before"), str),
    "before": (gettext_lazy("before"), str),
    "after": (gettext_lazy("after"), str),
    "status": (gettext_lazy("status"), str),
    "note_changed": (gettext_lazy("note changed"), yes_no),
    "card": (gettext_lazy("card"), lambda v: f"#{v}"),
    "balance": (gettext_lazy("balance"), points),
    "amount": (gettext_lazy("amount"), money),
    "points": (gettext_lazy("points"), points),
    "shortfall": (gettext_lazy("already spent"), points),
    "reward": (gettext_lazy("reward"), lambda v: f"#{v}"),
    "cause": (gettext_lazy("cause"), str),
    "entry": (gettext_lazy("ledger entry"), lambda v: f"#{v}"),
    "tier": (gettext_lazy("tier"), lambda v: str(v) or "—"),
    "total": (gettext_lazy("points over 12 months"), points),
    "trigger": (gettext_lazy("why"), str),
    "code": (gettext_lazy("code"), str),
    "threshold": (gettext_lazy("threshold"), points),
    "multiplier": (gettext_lazy("multiplier"), lambda v: f"\u00d7{v}"),
    "cost": (gettext_lazy("cost"), points),
    "stock": (gettext_lazy("stock"), lambda v: "—" if v is None else str(v)),
    "active": (gettext_lazy("available"), yes_no),
    "first_day": (gettext_lazy("from"), day),
    "last_day": (gettext_lazy("until"), day),
    "referrer_points": (gettext_lazy("points for the referrer"), points),
    "friend_points": (gettext_lazy("points for the friend"), points),
    "refund": (gettext_lazy("refund"), lambda v: "—" if v is None else f"#{v}"),
    "taken_back": (gettext_lazy("taken back"), points),
    "referrer": (gettext_lazy("referrer"), lambda v: f"#{v}"),
    "friend": (gettext_lazy("friend"), lambda v: f"#{v}"),
    "flags": (
        gettext_lazy("to check"),
        lambda v: ", ".join(_choice("cueillette.referrals.models:Flag", f) for f in v or []) or "—",
    ),
    "accepted": (gettext_lazy("accepted"), yes_no),
    "text": (gettext_lazy("note"), str),
    "thank_you": (gettext_lazy("thank-you"), lambda v: f"#{v}"),
    "emailed": (gettext_lazy("emailed"), yes_no),
    "scopes": (gettext_lazy("what the key may do"), listing),
    "reply_to": (gettext_lazy("in answer to"), lambda v: "—" if v is None else f"#{v}"),
    "criticism": (gettext_lazy("criticism"), yes_no),
    "note": (gettext_lazy("note"), lambda v: f"#{v}"),
    "replaces": (gettext_lazy("corrects"), lambda v: "—" if v is None else f"#{v}"),
    "change": (gettext_lazy("change"), lambda v: "—" if v is None else f"#{v}"),
    "change_window_weeks": (gettext_lazy("weeks around a change"), str),
    "comments": (gettext_lazy("comments"), str),
    "customers": (gettext_lazy("customers"), str),
    "holdout_weeks": (gettext_lazy("weeks kept out of the fit"), str),
    "lapse_factor": (gettext_lazy("lapsed after (times the usual gap)"), str),
    "message": (gettext_lazy("what went wrong"), str),
    "on": (gettext_lazy("on"), day),
    "repeaters": (gettext_lazy("customers with a repeat purchase"), str),
    "scores": (gettext_lazy("scores removed"), str),
}


def generic(data: Mapping[str, Any]) -> list[str]:
    """Each data key as "<label>: <value>", in the reader's language."""
    out = []
    for key, value in data.items():
        label, fmt = KEY_LABELS.get(key, (None, listing))
        shown = fmt(value)
        out.append(
            _("%(label)s: %(value)s")
            % {"label": str(label) if label else key.replace("_", " "), "value": shown}
        )
    return out


def _but(*skip: str) -> Details:
    def details(data: Mapping[str, Any]) -> list[str]:
        return generic({k: v for k, v in data.items() if k not in skip})

    return details


# --------------------------------------------------------------------------- sentences


def _purchase(d: Mapping[str, Any]) -> list[str]:
    return [
        _("Purchase of %(amount)s: %(points)s earned.")
        % {"amount": money(d.get("amount")), "points": points(d.get("points", 0))}
    ]


def _refund(d: Mapping[str, Any]) -> list[str]:
    out = [
        _("Refund of %(amount)s: %(points)s taken back.")
        % {"amount": money(d.get("amount")), "points": points(d.get("points", 0))}
    ]
    if d.get("shortfall"):
        out.append(_("%(points)s had already been spent.") % {"points": points(d["shortfall"])})
    return out


def _redeemed(d: Mapping[str, Any]) -> list[str]:
    return [
        _("Reward #%(reward)s for %(points)s.")
        % {"reward": d.get("reward"), "points": points(d.get("points", 0))}
    ]


def _adjusted(d: Mapping[str, Any]) -> list[str]:
    n = int(d.get("points", 0) or 0)
    sign = "+" if n >= 0 else "-"
    return [
        _("%(points)s by hand, because: “%(reason)s”.")
        % {"points": sign + points(abs(n)), "reason": d.get("reason", "")}
    ]


def _tier_changed(d: Mapping[str, Any]) -> list[str]:
    return [
        _("From tier “%(before)s” to “%(after)s” (%(total)s over 12 months).")
        % {
            "before": d.get("previous") or _("none"),
            "after": d.get("tier") or _("none"),
            "total": points(d.get("total", 0)),
        }
    ]


def _role_changed(d: Mapping[str, Any]) -> list[str]:
    return [
        _("Role changed from %(before)s to %(after)s.")
        % {"before": role(d.get("old_role")), "after": role(d.get("new_role"))}
    ]


def _status_changed(d: Mapping[str, Any]) -> list[str]:
    def status(v: Any) -> str:
        return _choice("cueillette.community.models:PostStatus", v)

    return [
        _("Status changed from “%(before)s” to “%(after)s”.")
        % {"before": status(d.get("before")), "after": status(d.get("after"))}
    ]


def _post_hidden(d: Mapping[str, Any]) -> list[str]:
    return [
        _("Hidden for this reason: %(reason)s.")
        % {"reason": _choice("cueillette.community.models:HideReason", d.get("reason"))}
    ]


def _consent(granted: bool) -> Details:
    def details(d: Mapping[str, Any]) -> list[str]:
        what = (
            _("Agreed to “%(purpose)s” (%(how)s), text version %(v)s.")
            if granted
            else _("Withdrew “%(purpose)s” (%(how)s).")
        )
        return [
            what
            % {
                "purpose": purpose(d.get("purpose")),
                "how": source(d.get("source")),
                "v": d.get("wording_version", "?"),
            }
        ]

    return details


def _confirmation_requested(d: Mapping[str, Any]) -> list[str]:
    return [
        _("Email sent to confirm “%(purpose)s” (%(how)s).")
        % {"purpose": purpose(d.get("purpose")), "how": source(d.get("source"))}
    ]


def _email_confirmed(d: Mapping[str, Any]) -> list[str]:
    return [_("Confirmed “%(purpose)s” by email.") % {"purpose": purpose(d.get("purpose"))}]


def _follow_up(d: Mapping[str, Any]) -> list[str]:
    def status(v: Any) -> str:
        return _choice("cueillette.feedback.models:FollowUp", v)

    out = [
        _("Follow-up from “%(before)s” to “%(after)s”.")
        % {"before": status(d.get("previous")), "after": status(d.get("status"))}
    ]
    if d.get("note_changed"):
        out.append(_("The note was changed."))
    rest = {k: v for k, v in d.items() if k not in ("previous", "status", "note_changed")}
    return out + generic(rest)


def _reviewed(d: Mapping[str, Any]) -> list[str]:
    verdict = _("Accepted") if d.get("accepted") else _("Rejected")
    reason = _choice("cueillette.referrals.models:Reason", d.get("reason"))
    out = [_("%(verdict)s: %(reason)s.") % {"verdict": verdict, "reason": reason}]
    if d.get("text"):
        out.append(_("Note: “%(text)s”.") % {"text": d["text"]})
    return out


def _answered(d: Mapping[str, Any]) -> list[str]:
    out = [_("Score %(score)s/10.") % {"score": d.get("score")}]
    if d.get("with_comment"):
        out.append(_("With a comment."))
    if d.get("promoter_invited"):
        out.append(_("Invited to recommend us."))
    return out


def _imported(d: Mapping[str, Any]) -> list[str]:
    counts = _(
        "%(rows)s rows read, %(created)s customers created, %(dup)s duplicates skipped, "
        "%(bad)s rows refused."
    ) % {
        "rows": d.get("rows", 0),
        "created": d.get("created", 0),
        "dup": d.get("duplicates", 0),
        "bad": d.get("bad_rows", 0),
    }
    rest = {k: v for k, v in d.items() if k in ("consents", "confirmations_requested")}
    return [counts, *generic(rest)]


words("organization.created", gettext_lazy("Business opened"), generic)
words("organization.updated", gettext_lazy("Business settings changed"), generic)
words("membership.created", gettext_lazy("Staff member added"), generic)
words("member.invited", gettext_lazy("Staff member invited"), generic)
words("member.joined", gettext_lazy("Staff member joined"), _but("invitation_id"))
words("member.role_changed", gettext_lazy("Role changed"), _role_changed)
words("member.removed", gettext_lazy("Staff member removed"), _but("user_id"))
words("invitation.revoked", gettext_lazy("Invitation withdrawn"), generic)
words("api_key.created", gettext_lazy("API key created"), generic)
words("api_key.revoked", gettext_lazy("API key revoked"), generic)

words("customer.created", gettext_lazy("Customer registered"), generic)
words("customer.updated", gettext_lazy("Customer details changed"), generic)
words("customer.merged", gettext_lazy("Two records merged"), generic)
words("customer.erased", gettext_lazy("Customer erased"), generic)
words("customers.exported", gettext_lazy("Customer base exported"), generic)
words("customers.imported", gettext_lazy("Customers imported"), _imported)
words("customer.portal_link_sent", gettext_lazy("Link to their space sent"), generic)
words("customer.portal_opened", gettext_lazy("Customer opened their space"))
words("customer.exported_by_self", gettext_lazy("Customer downloaded their data"), generic)
words("customer.retention_warned", gettext_lazy("Inactivity warning sent"), generic)
words("consent.granted", gettext_lazy("Consent recorded"), _consent(True))
words("consent.withdrawn", gettext_lazy("Consent withdrawn"), _consent(False))
words(
    "consent.confirmation_requested",
    gettext_lazy("Confirmation email sent"),
    _confirmation_requested,
)
words("consent.email_confirmed", gettext_lazy("Email confirmed by the customer"), _email_confirmed)
words("wording.new_version", gettext_lazy("Consent wording changed"), _but("text_hash"))

words("loyalty.joined", gettext_lazy("Joined the loyalty program"), generic)
words("loyalty.left", gettext_lazy("Left the loyalty program"), generic)
words("loyalty.closed_on_erasure", gettext_lazy("Loyalty card closed (erasure)"))
words("loyalty.purchase", gettext_lazy("Purchase recorded"), _purchase)
words("loyalty.refund", gettext_lazy("Refund recorded"), _refund)
words("loyalty.redeemed", gettext_lazy("Reward taken"), _redeemed)
words("loyalty.undone", gettext_lazy("Operation undone"), generic)
words("loyalty.adjusted", gettext_lazy("Points adjusted by hand"), _adjusted)
words("loyalty.tier_changed", gettext_lazy("Tier changed"), _tier_changed)
words("loyalty.expiry_warned", gettext_lazy("Points expiry warning sent"), generic)
words("loyalty.referral_credited", gettext_lazy("Referral points credited"), generic)
words("loyalty.taken_back", gettext_lazy("Points taken back"), generic)
words("loyalty.program_updated", gettext_lazy("Loyalty program settings changed"), generic)
words("loyalty.reward_created", gettext_lazy("Reward added"), generic)
words("loyalty.reward_updated", gettext_lazy("Reward changed"), generic)
words("loyalty.reward_deleted", gettext_lazy("Reward deleted"), generic)
words("loyalty.tier_created", gettext_lazy("Tier added"), generic)
words("loyalty.tier_updated", gettext_lazy("Tier changed"), generic)
words("loyalty.report_exported", gettext_lazy("Loyalty report exported"), generic)

words("community.post_created", gettext_lazy("Post published"), generic)
words("community.post_edited", gettext_lazy("Post edited by its author"), generic)
words("community.me_too", gettext_lazy("“Me too” on a post"))
words("community.subscribed", gettext_lazy("Follows a post"))
words("community.unsubscribed", gettext_lazy("Stopped following a post"))
words("community.appealed", gettext_lazy("Hiding contested by the author"), generic)
words("community.appeal_decided", gettext_lazy("Appeal decided"), generic)
words("community.replied", gettext_lazy("Public reply"), generic)
words("community.status_changed", gettext_lazy("Post status changed"), _status_changed)
words("community.acknowledged", gettext_lazy("“We got this wrong”"))
words("community.customer_linked", gettext_lazy("Post linked to a customer"), generic)
words("community.tagged", gettext_lazy("Themes of a post changed"), generic)
words("community.post_hidden", gettext_lazy("Post hidden"), _post_hidden)
words("community.post_restored", gettext_lazy("Post shown again"))
words("community.reanalysed", gettext_lazy("Posts analysed again"), generic)
words("community.settings_updated", gettext_lazy("Community page settings changed"), generic)
words("community.digest_sent", gettext_lazy("Weekly digest sent"), generic)
words("community.draft_started", gettext_lazy("Post waiting for its author's email"), generic)
words("community.draft_confirmed", gettext_lazy("Post confirmed by its author"), generic)

words("feedback.settings_changed", gettext_lazy("Survey settings changed"), generic)
words("feedback.survey_sent", gettext_lazy("Survey sent"), _but("consent_event"))
words("feedback.answered", gettext_lazy("Survey answered"), _answered)
words("feedback.follow_up", gettext_lazy("Detractor follow-up"), _follow_up)
words("feedback.answers_anonymised", gettext_lazy("Survey answers anonymised"), generic)

words("referrals.program_updated", gettext_lazy("Referral program settings changed"), generic)
words("referrals.recorded", gettext_lazy("Referral recorded"), generic)
words("referrals.reviewed", gettext_lazy("Referral reviewed"), _reviewed)
words("referrals.confirmed", gettext_lazy("Referral confirmed"), _but("notes"))
words("referrals.undone", gettext_lazy("Referral back to pending (sale undone)"), generic)
words("referrals.reversed", gettext_lazy("Referral rewards taken back (refund)"), generic)
words("referrals.thanked", gettext_lazy("Advocate thanked"), generic)

# Community dialogue, care notes and insights (added with those capabilities).
words("community.customer_replied", gettext_lazy("A customer answered in a thread"), generic)
words("community.post_withdrawn", gettext_lazy("Post withdrawn by its author"), generic)
words("community.reply_hidden", gettext_lazy("Answer hidden"), generic)
words("community.name_redacted", gettext_lazy("An erased author's name replaced"), generic)
words("care_note.added", gettext_lazy("Care note added"), generic)
words("insights.settings_updated", gettext_lazy("Insight settings changed"), generic)
words("insights.refreshed", gettext_lazy("Customer insights refreshed"), generic)
words("insights.refresh_failed", gettext_lazy("Customer insights refresh failed"), generic)
words("insights.reason_added", gettext_lazy("Reason for leaving added to the list"), generic)
words("insights.reason_updated", gettext_lazy("Reason for leaving changed"), generic)
words("insights.change_recorded", gettext_lazy("Change of the business recorded"), generic)
words("insights.change_updated", gettext_lazy("Change of the business edited"), generic)
words("insights.reason_attached", gettext_lazy("Reason for leaving noted"), generic)
words("insights.reason_cleared", gettext_lazy("Reason for leaving cleared"), generic)
words("insights.change_linked", gettext_lazy("Lapsed customers linked to a change"), generic)
words("insights.note_added", gettext_lazy("Note on a drifting customer"), generic)
words("insights.exit_survey_sent", gettext_lazy("Exit question emailed"), generic)
words("insights.exit_survey_answered", gettext_lazy("Exit question answered"), generic)
words(
    "insights.customer_anonymised", gettext_lazy("Insights of an erased customer removed"), generic
)


# --------------------------------------------------------------------------- actors, objects

OBJECT_TYPES: dict[str, Promise] = {
    "customer": gettext_lazy("Customer"),
    "customers": gettext_lazy("Customer base"),
    "import": gettext_lazy("Import"),
    "consentwording": gettext_lazy("Consent wording"),
    "organization": gettext_lazy("Business"),
    "membership": gettext_lazy("Staff member"),
    "invitation": gettext_lazy("Invitation"),
    "apikey": gettext_lazy("API key"),
    "card": gettext_lazy("Loyalty card"),
    "program": gettext_lazy("Loyalty program settings"),
    "reward": gettext_lazy("Reward"),
    "tier": gettext_lazy("Tier"),
    "loyalty_report": gettext_lazy("Loyalty report"),
    "post": gettext_lazy("Community post"),
    "postdraft": gettext_lazy("Post waiting for confirmation"),
    "community": gettext_lazy("Community page"),
    "communitysettings": gettext_lazy("Community page settings"),
    "survey": gettext_lazy("Survey"),
    "surveysettings": gettext_lazy("Survey settings"),
    "referral": gettext_lazy("Referral"),
    "referralprogram": gettext_lazy("Referral program settings"),
    "thankyou": gettext_lazy("Thank-you"),
}
# One of a kind per business: no number to show.
SINGLETONS = frozenset(
    {
        "organization",
        "program",
        "communitysettings",
        "surveysettings",
        "referralprogram",
        "customers",
        "community",
        "loyalty_report",
    }
)

_CUSTOMER_CHANNELS: dict[str, Promise] = {
    "customer space": gettext_lazy("in their space"),
    "join page": gettext_lazy("on the join page"),
    "survey link": gettext_lazy("from the survey link"),
    "community page": gettext_lazy("on the community page"),
    "unsubscribe link": gettext_lazy("from an unsubscribe link"),
    "referral invitation": gettext_lazy("from a referral invitation"),
}
_SYSTEM_TASKS: dict[str, Promise] = {
    "erasure": gettext_lazy("erasure"),
    "expiry": gettext_lazy("points expiry"),
    "retention": gettext_lazy("retention period"),
    "community": gettext_lazy("community digest"),
    "feedback": gettext_lazy("surveys"),
    "loyalty": gettext_lazy("loyalty reminders"),
    "referral review deadline": gettext_lazy("referral review deadline"),
    "tier review": gettext_lazy("tier review"),
    "demo": gettext_lazy("demo data"),
}


def action_label(action: str) -> str:
    found = ACTIONS.get(action)
    return str(found.label) if found is not None else action


def actor_text(event: AuditEvent, roles: Mapping[int, str] | None = None) -> str:
    """ "Léa (Counter staff)", "the customer themselves (in their space)", "API key «Caisse 1»",
    "the system (erasure)"."""
    label = event.actor_label or ""
    if event.actor_kind == "staff":
        name = event.actor_user.display_name if event.actor_user is not None else label
        held = (roles or {}).get(event.actor_user_id or 0)
        if held:
            return _("%(name)s (%(role)s)") % {"name": name, "role": role(held).lower()}
        return name or _("a former staff member")
    if event.actor_kind == "customer":
        channel = _CUSTOMER_CHANNELS.get(label)
        if channel is not None:
            return _("the customer themselves (%(where)s)") % {"where": channel}
        return _("the customer themselves")
    if event.actor_kind == "api":
        name = label.removeprefix("API: ")
        return _("API key «%(name)s»") % {"name": name}
    task = _SYSTEM_TASKS.get(label)
    if task is None and label.startswith("import "):
        return _("the system (import of %(file)s)") % {"file": label.removeprefix("import ")}
    if task is not None:
        return _("the system (%(task)s)") % {"task": task}
    return _("the system")


def object_text(event: AuditEvent) -> str:
    kind = OBJECT_TYPES.get(event.object_type)
    if kind is None:
        if not event.object_type:
            return ""
        kind_text = event.object_type.replace("_", " ")
    else:
        kind_text = str(kind)
    if event.object_id and event.object_type not in SINGLETONS:
        return _("%(kind)s #%(id)s") % {"kind": kind_text, "id": event.object_id}
    return kind_text


def detail_sentences(event: AuditEvent) -> list[str]:
    data = event.data if isinstance(event.data, dict) else {}
    found = ACTIONS.get(event.action)
    if not data:
        return []
    if found is None or found.details is None:
        return generic(data)
    return found.details(data)


@dataclass(frozen=True)
class WordedEvent:
    """An audit row as people read it."""

    event: AuditEvent
    what: str
    who: str
    on: str
    details: list[str]


def worded(events: list[AuditEvent], roles: Mapping[int, str] | None = None) -> list[WordedEvent]:
    return [
        WordedEvent(
            e, action_label(e.action), actor_text(e, roles), object_text(e), detail_sentences(e)
        )
        for e in events
    ]


def object_type_choices(types: list[str]) -> list[tuple[str, str]]:
    """(code, label) for the log's "On" filter, sorted by label."""
    return sorted(
        ((t, str(OBJECT_TYPES.get(t, t.replace("_", " ")))) for t in types),
        key=lambda pair: pair[1].lower(),
    )


def staff_roles() -> dict[int, str]:
    """The current business's staff and their roles (for "Léa (counter staff)")."""
    from cueillette.accounts.models import Membership

    return dict(Membership.objects.values_list("user_id", "role"))
