"""The member's side of the loyalty program: what the customer's space shows, reads only.

Everything here runs inside the organization's tenant context (``@public_org``). Writes stay in
:mod:`cueillette.loyalty.services`; this module reads the ledger and says it in plain words:

* :func:`member_view` — balance, tier and "why am I in this tier", rewards, expiry schedule and
  the full history of every point with its cause;
* :func:`program_facts` — the program's rules in sentences, for people who have not joined;
* wallet tokens (:func:`wallet_token`, :func:`card_for_wallet`) — a signed, session-free link
  to the phone wallet page, valid as long as the card is open;
* the loyalty part of the data export, and the subscriptions of :func:`register_hooks`
  (closing the cards on erasure; issuing/closing a card when the loyalty consent is given or
  withdrawn, whatever the door: ``services.on_consent_changed``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import segno
from babel.numbers import format_decimal as babel_decimal
from django.core import signing
from django.utils import formats, timezone, translation
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cueillette.core import consequences
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.core.models import Organization
from cueillette.core.money import format_money
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import (
    Card,
    CardStatus,
    EntryKind,
    PointsEntry,
    Program,
    Reward,
    Tier,
)
from cueillette.loyalty.templatetags.loyalty_tags import CUSTOMER, explain

WALLET_SALT = "cueillette.loyalty.wallet"
# "Almost reachable": rewards that need at most this many more points, or the next three.
ALMOST_SHOWN = 3


# --------------------------------------------------------------------------- formatting


def _lang() -> str:
    return (translation.get_language() or "fr")[:2]


def money(amount: Decimal | str, currency: str | None = None) -> str:
    """``12,50 €`` in French, ``€12.50`` in English (``core.money.format_money``)."""
    return format_money(amount, currency or current_org().currency)


def number(value: Decimal | str | int) -> str:
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return str(babel_decimal(dec, locale=_lang()))


def day(value: dt.date | str) -> str:
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return formats.date_format(parsed, "DATE_FORMAT")
    return formats.date_format(value, "DATE_FORMAT")


def local_day(value: dt.datetime) -> str:
    return day(timezone.localtime(value, current_org().tz).date())


def points(value: int) -> str:
    return ngettext("%(n)s point", "%(n)s points", abs(value)) % {"n": number(value)}


def weekday_name(index: int) -> str:
    return str(WEEKDAYS.get(index, index))


# --------------------------------------------------------------------------- explanations


def step_sentence(step: Mapping[str, Any] | rules.Step, tier_names: Mapping[str, str]) -> str:
    """One explanation step as a sentence addressed to the member (the program helper's
    ``loyalty_tags.explain``, shared with the staff pages)."""
    return explain(step, tier_names, CUSTOMER)


def tier_rule_sentences(program: Program) -> list[str]:
    """The rule that decides a tier, the same for everybody."""
    return [
        _(
            "Tiers count the points earned from purchases and visits over a rolling 12 months; "
            "bonuses do not count, and a refund takes its points back."
        ),
        _("Reaching a tier's threshold exactly is enough."),
        _(
            "You move up as soon as you reach a tier. You only move down at the monthly review "
            "on the 1st, if your 12-month total is then below your tier's threshold."
        ),
    ]


def program_facts(program: Program, tiers: Sequence[Tier]) -> list[str]:
    """The program's rules in plain words, for the page explaining it before joining."""
    facts = []
    rate = Decimal(program.points_per_euro)
    if rate > 0:
        rounding = {
            rules.Rounding.FLOOR: _("rounded down to a whole point"),
            rules.Rounding.HALF_UP: _("rounded to the nearest whole point (a half goes up)"),
            rules.Rounding.HALF_EVEN: _(
                "rounded to the nearest whole point (a half goes to the even number)"
            ),
        }.get(rules.Rounding(program.rounding), "")
        facts.append(
            _("Each euro you spend earns %(rate)s, %(rounding)s, once per purchase.")
            % {
                "rate": ngettext("%(n)s point", "%(n)s points", 2 if rate != 1 else 1)
                % {"n": number(rate)},
                "rounding": rounding,
            }
        )
    if program.points_per_visit:
        facts.append(_("Each visit earns %(p)s.") % {"p": points(program.points_per_visit)})
    for key, mult in sorted(program.weekday_multipliers.items(), key=lambda kv: int(kv[0])):
        facts.append(
            _("On %(day)s, purchases earn %(m)s times the points.")
            % {"day": weekday_name(int(key)), "m": number(str(mult))}
        )
    for cat, mult in sorted(program.category_multipliers.items()):
        facts.append(
            _("Purchases of “%(cat)s” earn %(m)s times the points.")
            % {"cat": cat, "m": number(str(mult))}
        )
    if program.daily_cap:
        facts.append(
            _("You can earn up to %(p)s a day from purchases and visits.")
            % {"p": points(program.daily_cap)}
        )
    if program.welcome_bonus:
        facts.append(_("Welcome gift: %(p)s when you join.") % {"p": points(program.welcome_bonus)})
    if program.birthday_bonus:
        facts.append(
            _(
                "Birthday gift: %(p)s on your first purchase around your birthday, if you "
                "gave us your birth date and agreed to personalised offers."
            )
            % {"p": points(program.birthday_bonus)}
        )
    if program.expiry_months:
        facts.append(
            ngettext(
                "Points expire %(n)s month after they were earned, at the end of that day; the "
                "oldest points are always used first.",
                "Points expire %(n)s months after they were earned, at the end of that day; "
                "the oldest points are always used first.",
                program.expiry_months,
            )
            % {"n": program.expiry_months}
        )
        facts.append(
            _("We warn you %(days)s days before points expire.")
            % {"days": program.expiry_warning_days}
        )
    else:
        facts.append(_("Points do not expire."))
    if tiers:
        facts.extend(tier_rule_sentences(program))
    facts.append(
        _(
            "You can leave at any time: your card is closed, you get no more loyalty messages, "
            "and your history stays available for you to download."
        )
    )
    return facts


# --------------------------------------------------------------------------- QR and wallet


def qr_svg(card_number: str, *, title: str = "") -> str:
    """The card's QR code as inline SVG (it encodes the plain 12-digit number)."""
    qr = segno.make(card_number, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(
        buf,
        kind="svg",
        scale=1,
        border=4,
        xmldecl=False,
        omitsize=True,
        nl=False,
        dark="#000",
        light="#fff",
        svgclass="qr",
        lineclass="qr__modules",
        title=title or None,
    )
    return buf.getvalue().decode("utf-8")


def wallet_token(card: Card) -> str:
    """A signed token naming the organization and the card: the wallet page needs no session.

    It never expires on its own; the wallet refuses it once the card is closed. It carries no
    timestamp, so a card has one wallet address: the page saved to a home screen and the link
    in an email are the same.
    """
    return signing.Signer(salt=WALLET_SALT).sign_object({"o": card.organization_id, "c": card.pk})


class WalletTokenInvalid(Exception):
    pass


def card_for_wallet(token: str, org: Organization) -> Card:
    """The card behind a wallet token, open or closed; WalletTokenInvalid if tampered or of
    another organization (the view answers 404 for both)."""
    if not token or len(token) > 200:
        raise WalletTokenInvalid
    # Addresses handed out before tokens were stable carry a timestamp (one more ":"); they
    # stay valid.
    signer = signing.TimestampSigner if token.count(":") == 2 else signing.Signer
    try:
        data = signer(salt=WALLET_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError) as exc:
        raise WalletTokenInvalid from exc
    if not isinstance(data, dict) or data.get("o") != org.pk or not isinstance(data.get("c"), int):
        raise WalletTokenInvalid
    card = Card.objects.select_related("customer").filter(pk=data["c"]).first()
    if card is None:
        raise WalletTokenInvalid
    return card


def card_is_usable(card: Card) -> bool:
    return card.status == CardStatus.OPEN and card.customer.is_active


def text_on(color: str) -> str:
    """``light`` or ``dark`` text, whichever reads better on the card's colour."""
    value = color.lstrip("#")
    if len(value) != 6:
        return "light"
    try:
        r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return "light"

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    # White text when it contrasts more than black text does.
    return "light" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "dark"


def safe_color(color: str) -> str:
    value = (color or "").strip()
    if len(value) == 7 and value.startswith("#"):
        try:
            int(value[1:], 16)
        except ValueError:
            return "#2f6b4f"
        return value
    return "#2f6b4f"


# --------------------------------------------------------------------------- the member's view


@dataclass(frozen=True)
class HistoryRow:
    entry: PointsEntry
    kind_label: str
    cause: str
    details: tuple[str, ...]
    balance_after: int
    valid_until: str
    # False when the cause already names the kind ("Refund of €5.00 ..."): say it once.
    show_kind: bool = True
    # The reason saved with the entry, when it says more than the cause (plain text).
    note: str = ""


@dataclass(frozen=True)
class RewardRow:
    reward: Reward
    missing: int = 0
    note: str = ""


@dataclass(frozen=True)
class ScheduleRow:
    last_day: dt.date
    points: int
    soon: bool


@dataclass
class MemberView:
    card: Card
    program: Program
    balance: int
    as_of: dt.datetime
    tier: Tier | None
    tiers: list[Tier]
    status: rules.TierStatus | None
    why: list[str]
    rule: list[str]
    progress_value: int = 0
    progress_max: int = 0
    next_tier: Tier | None = None
    rewards_now: list[RewardRow] = field(default_factory=list)
    rewards_soon: list[RewardRow] = field(default_factory=list)
    schedule: list[ScheduleRow] = field(default_factory=list)
    expiring_soon: list[ScheduleRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _receipt(receipt_id: str) -> str:
    # Purchases typed at the counter get a technical receipt id; only a till's id means
    # something to the customer.
    return "" if receipt_id.startswith("counter-") else receipt_id


def _purchase_words(purchase: Any) -> str:
    if not purchase.amount:  # a visit is a purchase of 0
        text = _("visit on %(date)s") % {"date": local_day(purchase.occurred_at)}
    else:
        text = _("purchase of %(amount)s on %(date)s") % {
            "amount": money(purchase.amount, purchase.currency),
            "date": local_day(purchase.occurred_at),
        }
    receipt = _receipt(purchase.receipt_id)
    if receipt:
        text += " " + _("(receipt %(r)s)") % {"r": receipt}
    return text


def _batch_words(entry: PointsEntry | None) -> str:
    if entry is None:
        return _("earlier points")
    label = EntryKind(entry.kind).label if entry.kind in EntryKind.values else entry.kind
    return _("%(points)s earned on %(date)s (%(kind)s)") % {
        "points": points(entry.points),
        "date": local_day(entry.occurred_at),
        "kind": str(label).lower(),
    }


def saved_reason(entry: PointsEntry) -> str:
    """The reason saved with the entry in the customer's words, without a leading repeat of
    its kind ("Referral: welcome bonus" under the kind "Referral" gives "Welcome bonus");
    "" for none and for technical reasons ("undo")."""
    reason = " ".join((entry.reason or "").split())
    if reason in ("", "undo"):
        return ""
    labels = {
        str(EntryKind(k).label) for k in (entry.kind, EntryKind.REFERRAL) if k in EntryKind.values
    }
    for label in labels:
        head, sep, rest = reason.partition(":")
        if sep and head.strip().casefold() == label.casefold() and rest.strip():
            return _upper_first(rest.strip())
    return reason


def _referral_words(entry: PointsEntry) -> str:
    """Why referral points were given, for whoever reads them: the friend's welcome bonus or
    the thanks to the member whose friend made a first purchase (the purchase that confirmed
    the referral says which side this card is). Else the reason saved with the entry."""
    purchase = entry.purchase
    if purchase is not None and purchase.card_id == entry.card_id:
        return _("Welcome bonus: a friend invited you and you made your first purchase")
    if purchase is not None:
        return _("A friend you invited made their first purchase")
    return saved_reason(entry) or _("Points for a referral")


def describe_entry(entry: PointsEntry, tier_names: Mapping[str, str]) -> tuple[str, list[str]]:
    """The cause of one ledger entry in words, and the details that explain it."""
    kind = entry.kind
    details: list[str] = []
    if kind in (EntryKind.PURCHASE, EntryKind.VISIT) and entry.purchase is not None:
        cause = _upper_first(_purchase_words(entry.purchase))
        details = [
            s for s in (step_sentence(step, tier_names) for step in entry.purchase.explanation) if s
        ]
        if entry.purchase.refunded_amount:
            details.append(
                _("%(amount)s of it was refunded since.")
                % {"amount": money(entry.purchase.refunded_amount, entry.purchase.currency)}
            )
    elif kind == EntryKind.WELCOME:
        cause = _("Welcome gift for joining")
    elif kind == EntryKind.BIRTHDAY:
        cause = (
            _("Birthday gift %(year)s") % {"year": entry.birthday_year}
            if entry.birthday_year
            else _("Birthday gift")
        )
    elif kind == EntryKind.REFUND:
        refund = entry.refund
        if entry.purchase is not None:
            cause = _("Refund of %(amount)s of the %(purchase)s") % {
                "amount": money(refund.amount if refund else "0", entry.purchase.currency),
                "purchase": _purchase_words(entry.purchase),
            }
        else:
            cause = _("Refund")
        if refund is not None and refund.points > -entry.points:
            details.append(
                _("%(missing)s could not be taken back: they had already been used.")
                % {"missing": points(refund.points + entry.points)}
            )
    elif kind == EntryKind.REDEMPTION:
        redemption = entry.redemption
        cause = (
            _("Reward: %(name)s") % {"name": redemption.reward.name}
            if redemption is not None
            else _("Reward")
        )
        if redemption is not None and redemption.cancelled_at:
            details.append(_("Cancelled afterwards: the points were given back."))
    elif kind == EntryKind.EXPIRY:
        cause = _("Expiry of %(batch)s") % {"batch": _batch_words(entry.corrects)}
    elif kind == EntryKind.ADJUSTMENT:
        cause = _("Adjustment by the team: %(reason)s") % {"reason": entry.reason or "—"}
    elif kind == EntryKind.CORRECTION:
        if entry.redemption is not None:
            cause = _("Reward cancelled: %(name)s") % {"name": entry.redemption.reward.name}
        elif entry.purchase is not None:
            cause = _("Cancelled: %(purchase)s") % {"purchase": _purchase_words(entry.purchase)}
        elif entry.corrects is not None:
            cause = _("Points taken back: %(batch)s") % {"batch": _batch_words(entry.corrects)}
        else:
            cause = saved_reason(entry) or _("Correction")
    elif kind == EntryKind.REFERRAL:
        cause = _referral_words(entry)
    elif kind == EntryKind.EVENT:
        cause = saved_reason(entry) or _("Event attendance")
    else:
        cause = str(EntryKind(kind).label) if kind in EntryKind.values else kind
    return cause, details


def history(card: Card, tier_names: Mapping[str, str]) -> list[HistoryRow]:
    """Every entry of the card, newest first, with its cause and the balance after it."""
    entries = list(
        card.entries.select_related(
            "purchase", "refund", "redemption", "redemption__reward", "corrects"
        ).order_by("id")
    )
    rows = []
    running = 0
    for entry in entries:
        running += entry.points
        cause, details = describe_entry(entry, tier_names)
        label = str(EntryKind(entry.kind).label if entry.kind in EntryKind.values else entry.kind)
        note = ""
        if entry.kind == EntryKind.CORRECTION and entry.corrects is not None:
            note = saved_reason(entry)  # why they were taken back
        valid = ""
        if entry.points > 0 and entry.expires_at is not None:
            last = (entry.expires_at - dt.timedelta(microseconds=1)).astimezone(current_org().tz)
            valid = day(last.date())
        rows.append(
            HistoryRow(
                entry=entry,
                kind_label=label,
                cause=cause,
                details=tuple(details),
                balance_after=running,
                valid_until=valid,
                show_kind=label.casefold() not in cause.casefold(),
                note=note if note.casefold() not in cause.casefold() else "",
            )
        )
    rows.reverse()
    return rows


def _rewards(card: Card, balance: int, today: dt.date) -> tuple[list[RewardRow], list[RewardRow]]:
    now_rows: list[RewardRow] = []
    soon_rows: list[RewardRow] = []
    tier_names = {t.code: t.name for t in services.tiers()}
    for reward in Reward.objects.filter(active=True).order_by("cost", "name"):
        why = services.reward_available(reward, card, today)
        if why is None and reward.cost <= balance:
            now_rows.append(RewardRow(reward))
        elif why in (None, "insufficient_points"):
            soon_rows.append(RewardRow(reward, missing=max(0, reward.cost - balance)))
        elif why == "tier_required":
            soon_rows.append(
                RewardRow(
                    reward,
                    missing=max(0, reward.cost - balance),
                    note=_("for %(tier)s members and above")
                    % {"tier": tier_names.get(reward.min_tier, reward.min_tier)},
                )
            )
    soon_rows.sort(key=lambda r: (r.note != "", r.missing))
    return now_rows, soon_rows[:ALMOST_SHOWN]


def member_view(card: Card, now: dt.datetime | None = None) -> MemberView:
    """Everything the member's page shows about ``card`` (reads only)."""
    now = now or timezone.now()
    org = current_org()
    tz = org.tz
    program = services.get_program()
    tiers = services.tiers()
    tier_names = {t.code: t.name for t in tiers}
    state = services.replay(card)
    balance = state.available_at(now)
    tier = services.current_tier(card)
    status = None
    why: list[str] = []
    progress_value = progress_max = 0
    next_tier = None
    if tiers:
        status = rules.tier_status(
            services.rule_tiers(), card.tier_code or None, services.qualifying_points(card), now, tz
        )
        why = [step_sentence(s.as_dict(), tier_names) for s in status.steps]
        if status.next_tier is not None:
            next_tier = next((t for t in tiers if t.code == status.next_tier.code), None)
            progress_max = status.next_tier.threshold
            progress_value = min(status.total, progress_max)
    warn_until = now + dt.timedelta(days=program.expiry_warning_days)
    schedule = [
        ScheduleRow(line.last_day, line.points, line.expires_at <= warn_until)
        for line in state.schedule(tz)
        if line.expires_at > now
    ]
    rewards_now, rewards_soon = _rewards(card, balance, timezone.localdate(now, tz))
    return MemberView(
        card=card,
        program=program,
        balance=balance,
        as_of=now,
        tier=tier,
        tiers=tiers,
        status=status,
        why=why,
        rule=tier_rule_sentences(program) if tiers else [],
        progress_value=progress_value,
        progress_max=progress_max,
        next_tier=next_tier,
        rewards_now=rewards_now,
        rewards_soon=rewards_soon,
        schedule=schedule,
        expiring_soon=[row for row in schedule if row.soon],
        history=history(card, tier_names),
    )


def cards_of(customer: Customer) -> list[Card]:
    """The customer's cards, open first then the most recent."""
    return sorted(
        Card.objects.filter(customer=customer),
        key=lambda c: (c.status != CardStatus.OPEN, -c.opened_at.timestamp()),
    )


# --------------------------------------------------------------------------- export


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry_dict(entry: PointsEntry, tier_names: Mapping[str, str]) -> dict[str, Any]:
    cause, details = describe_entry(entry, tier_names)
    return {
        "id": entry.pk,
        "card": entry.card.number,
        "occurred_at": _iso(entry.occurred_at),
        "kind": entry.kind,
        "points": entry.points,
        "expires_at": _iso(entry.expires_at),
        "cause": cause,
        "details": details,
        "purchase_receipt": entry.purchase.receipt_id if entry.purchase else None,
        "refund_id": entry.refund_id,
        "redemption_id": entry.redemption_id,
        "corrects_entry": entry.corrects_id,
        "reason": entry.reason,
    }


def export_data(customer: Customer) -> dict[str, Any]:
    """The loyalty data of the customer (and of records merged into it), JSON-ready."""
    from cueillette.customers import services as customer_services

    ids = customer_services.history_ids(customer)
    tier_names = {t.code: t.name for t in services.tiers()}
    cards = list(Card.objects.filter(customer_id__in=ids).order_by("opened_at", "id"))
    out: dict[str, Any] = {"program": services.get_program().name, "cards": []}
    entries_all: list[dict[str, Any]] = []
    for card in cards:
        entries = list(
            card.entries.select_related(
                "card", "purchase", "refund", "redemption", "redemption__reward", "corrects"
            ).order_by("id")
        )
        rows = [_entry_dict(e, tier_names) for e in entries]
        entries_all.extend(rows)
        out["cards"].append(
            {
                "number": card.number,
                "status": card.status,
                "opened_at": _iso(card.opened_at),
                "closed_at": _iso(card.closed_at),
                "balance": card.balance,
                "tier": tier_names.get(card.tier_code, card.tier_code),
                "entries": rows,
                "purchases": [
                    {
                        "receipt_id": p.receipt_id,
                        "occurred_at": _iso(p.occurred_at),
                        "amount": str(p.amount),
                        "currency": p.currency,
                        "lines": p.lines,
                        "points": p.points,
                        "refunded_amount": str(p.refunded_amount),
                        "points_taken_back": p.points_taken_back,
                        "source": p.source,
                        "refunds": [
                            {
                                "refund_id": r.refund_id,
                                "occurred_at": _iso(r.occurred_at),
                                "amount": str(r.amount),
                                "points": r.points,
                                "reason": r.reason,
                            }
                            for r in p.refunds.order_by("id")
                        ],
                    }
                    for p in card.purchases.order_by("occurred_at", "id")
                ],
                "redemptions": [
                    {
                        "reward": r.reward.name,
                        "occurred_at": _iso(r.occurred_at),
                        "points": r.points,
                        "cancelled_at": _iso(r.cancelled_at),
                    }
                    for r in card.redemptions.select_related("reward").order_by("id")
                ],
            }
        )
    out["_entries"] = entries_all
    return out


ENTRY_COLUMNS = ["card", "occurred_at", "kind", "points", "expires_at", "cause", "reason"]


def export_files(customer: Customer) -> dict[str, bytes]:
    """``loyalty.json`` and ``loyalty_entries.csv`` for the customer's data export."""
    from cueillette.customers.export import DELIMITER, safe_cell

    data = export_data(customer)
    entries = data.pop("_entries")
    if not data["cards"]:
        return {}
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=DELIMITER)
    writer.writerow(ENTRY_COLUMNS)
    for row in entries:
        writer.writerow([safe_cell(row[c]) for c in ENTRY_COLUMNS])
    return {
        "loyalty.json": json.dumps(data, ensure_ascii=False, indent=2, default=str).encode(),
        "loyalty_entries.csv": ("\ufeff" + buf.getvalue()).encode("utf-8"),
    }


# --------------------------------------------------------------------------- hooks


def on_erase(fired: Fired) -> None:
    """CUSTOMER_ERASED subscriber: the erased record's cards close (inside the erasure)."""
    services.close_cards_on_erasure(fired["customer"])


_REGISTERED = False


def register_hooks() -> None:
    """Called once from the app's ``ready()``."""
    global _REGISTERED
    if _REGISTERED:
        return
    from cueillette.customers import portal as customer_portal

    customer_portal.register_exporter(export_files)
    consequences.subscribe(Consequence.CUSTOMER_ERASED, on_erase, phase=Phase.IN_TRANSACTION)
    # The loyalty consent is the membership, whatever the door records it.
    consequences.subscribe(
        Consequence.CONSENT_CHANGED,
        services.on_consent_changed,
        phase=Phase.IN_TRANSACTION,
        many=services.on_consents_changed,
    )
    _REGISTERED = True
