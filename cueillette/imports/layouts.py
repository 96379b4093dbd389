"""The layouts of other tools' exports, read by header name (never by position).

:func:`detect` names the layout from the header (and the file name for Mailchimp's three
files); :func:`customer_layout` / :func:`sales_layout` turn each row into one plain record
of our fields, consent decisions and evidence, or its problems. Unknown columns are ignored
(and listed once); missing ones are simply empty, so older exports with fewer columns work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cueillette.customers.bulk import HEADER_ALIASES
from cueillette.customers.models import Purpose
from cueillette.customers.normalize import fold
from cueillette.imports import rules
from cueillette.imports.errors import Code
from cueillette.imports.models import Layout

# Fields a generic CSV column can be mapped to (the mapping screen's choices).
IGNORE = ""
CUSTOMER_FIELDS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "full_name": gettext_lazy("Full name (first and last)"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "postal_code": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country code"),
    "birthday": gettext_lazy("Birthday"),
    "language": gettext_lazy("Preferred language (fr/en)"),
    "notes": gettext_lazy("Notes"),
    "tags": gettext_lazy("Interests (tags)"),
    "external_id": gettext_lazy("Customer id in the other tool"),
    **{f"consent_{p.value}": p.label for p in Purpose},
    "consent_news_email_confirmed_at": gettext_lazy("Date the email was confirmed"),
}
SALE_FIELDS: dict[str, Any] = {
    "date": gettext_lazy("Date (and time)"),
    "time": gettext_lazy("Time"),
    "amount": gettext_lazy("Amount"),
    "currency": gettext_lazy("Currency"),
    "receipt_id": gettext_lazy("Receipt or transaction id"),
    "kind": gettext_lazy("Sale or refund"),
    "email": gettext_lazy("Customer's email"),
    "phone": gettext_lazy("Customer's phone"),
    "card_number": gettext_lazy("Loyalty card number"),
    "external_id": gettext_lazy("Customer id in the other tool"),
    "customer_name": gettext_lazy("Customer's name (never used to match)"),
    "location": gettext_lazy("Shop / location"),
    "description": gettext_lazy("Description"),
}
SALE_ALIASES = {
    "date": "date",
    "jour": "date",
    "date de vente": "date",
    "heure": "time",
    "time": "time",
    "montant": "amount",
    "amount": "amount",
    "total": "amount",
    "montant ttc": "amount",
    "total ttc": "amount",
    "devise": "currency",
    "currency": "currency",
    "ticket": "receipt_id",
    "numero de ticket": "receipt_id",
    "receipt": "receipt_id",
    "receipt id": "receipt_id",
    "transaction id": "receipt_id",
    "id": "receipt_id",
    "type": "kind",
    "event type": "kind",
    "email": "email",
    "e mail": "email",
    "courriel": "email",
    "telephone": "phone",
    "phone": "phone",
    "carte": "card_number",
    "numero de carte": "card_number",
    "card number": "card_number",
    "client": "customer_name",
    "customer": "customer_name",
    "customer name": "customer_name",
    "nom du client": "customer_name",
    "customer id": "external_id",
    "id client": "external_id",
    "boutique": "location",
    "magasin": "location",
    "location": "location",
    "description": "description",
    "libelle": "description",
}

MAILCHIMP_MARKERS = frozenset(
    {"member_rating", "optin_time", "confirm_time", "leid", "euid", "last_changed", "optin_ip"}
)
MAILCHIMP_OLD = frozenset({"fname", "lname"})
SHOPIFY_MARKERS = frozenset({"accepts email marketing", "accepts marketing"})
SQUARE_MARKERS = frozenset({"gross sales", "net sales", "total collected"})


def key(header: str) -> str:
    """A header as we compare it: trimmed, lowercase (``"Email Address"`` -> ``email address``)."""
    return re.sub(r"\s+", " ", (header or "").strip().lstrip("\ufeff").lower())


def detect(header: Sequence[str], filename: str = "") -> str:
    keys = {key(h) for h in header}
    if "transaction id" in keys and keys & SQUARE_MARKERS:
        return Layout.SQUARE
    if keys & SHOPIFY_MARKERS or {"total spent", "total orders"} <= keys:
        return Layout.SHOPIFY
    if keys & MAILCHIMP_MARKERS or (keys & MAILCHIMP_OLD and "email" in keys):
        return Layout.MAILCHIMP
    if re.search(r"(subscribed|cleaned)_(members|email_audience)_export", filename.lower()):
        return Layout.MAILCHIMP
    return Layout.CSV


def mailchimp_status(header: Sequence[str], filename: str = "") -> str:
    """Which of Mailchimp's three files this is: by its name, else by its extra columns."""
    name = filename.lower()
    keys = {key(h) for h in header}
    if name.startswith("unsubscribed") or "unsub_time" in keys:
        return "unsubscribed"
    if name.startswith("cleaned") or "clean_time" in keys:
        return "cleaned"
    return "subscribed"


def kind_of(layout: str) -> str:
    return "sales" if layout == Layout.SQUARE else "customers"


def signature(header: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(key(h) for h in header).encode()).hexdigest()


def guess_customer_mapping(header: Sequence[str]) -> dict[str, str]:
    """Our guess for each column of a generic customers CSV (unknown: ignored)."""
    out: dict[str, str] = {}
    for h in header:
        k = key(h)
        folded = fold(h)
        if k in CUSTOMER_FIELDS:
            out[h] = k
        elif folded.replace(" ", "_") in CUSTOMER_FIELDS:
            out[h] = folded.replace(" ", "_")
        elif folded in HEADER_ALIASES:
            out[h] = HEADER_ALIASES[folded]
        elif folded in ("nom complet", "name", "full name", "client", "customer"):
            out[h] = "full_name"
        elif folded in ("pays", "country", "country code", "code pays"):
            out[h] = "country"
        elif folded in ("email address", "adresse email", "e mail address"):
            out[h] = "email"
        elif folded in ("id", "customer id", "id client", "numero client"):
            out[h] = "external_id"
        else:
            out[h] = IGNORE
    return out


def guess_sales_mapping(header: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in header:
        k, folded = key(h), fold(h)
        out[h] = k if k in SALE_FIELDS else SALE_ALIASES.get(folded, IGNORE)
    return out


@dataclass
class Issue:
    field: str
    code: str
    message: str
    error: bool = True


@dataclass
class CustomerRecord:
    """One customer row, read: fields for the counter's validation, decisions, evidence."""

    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the file's column
    region: str = "FR"
    # (purpose, column, granted)
    consents: list[tuple[str, str, bool]] = field(default_factory=list)
    status: str = ""  # Mailchimp: subscribed | unsubscribed | cleaned
    evidence: dict[str, Any] = field(default_factory=dict)
    external: tuple[str, str] | None = None
    external_data: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return bool(self.issues) and any(i.error for i in self.issues)


def _cells(
    header: Sequence[str], cells: Sequence[str], line: int
) -> tuple[dict[str, str], list[Issue]]:
    issues: list[Issue] = []
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        issues.append(
            Issue(
                "row",
                Code.LONG_ROW,
                _("this row has %(n)d cells, the header %(h)d: a delimiter inside a cell?")
                % {"n": len(cells), "h": len(header)},
            )
        )
    elif len(cells) < len(header):
        issues.append(
            Issue(
                "row",
                Code.SHORT_ROW,
                _("this row has %(n)d cells, the header %(h)d: the missing ones are read as empty")
                % {"n": len(cells), "h": len(header)},
                error=False,
            )
        )
    return {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}, issues


def _birthday(rec: CustomerRecord, column: str, text: str, *, month_first: bool) -> None:
    rec.columns["birthday"] = column
    try:
        rec.fields["birthday"] = rules.parse_date(text, month_first=month_first)
    except ValueError as exc:
        rec.issues.append(Issue(column, Code.INVALID_DATE, str(exc)))


def _postal(rec: CustomerRecord, column: str, text: str) -> None:
    code, restored = rules.restore_postal_code(text, rec.region)
    rec.columns["postal_code"] = column
    rec.fields["postal_code"] = code
    if restored:
        rec.issues.append(
            Issue(
                column,
                Code.POSTAL_CODE_RESTORED,
                _("postal code %(raw)s lost its leading zero in a spreadsheet: read as %(code)s")
                % {"raw": text.strip(), "code": code},
                error=False,
            )
        )


def _moment(rec: CustomerRecord, column: str, text: str, name: str) -> None:
    try:
        moment = rules.parse_moment(text)
    except ValueError as exc:
        rec.issues.append(Issue(column, Code.INVALID_DATE, str(exc), error=False))
        return
    if moment is not None:
        rec.evidence[name] = moment.isoformat()


class CustomerLayout:
    """Reads customer rows of one layout (header given once)."""

    system = ""

    def __init__(self, header: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        self.header = list(header)
        self.options = dict(options or {})
        self.by_key = {key(h): h for h in header}

    def consent_columns(self) -> list[tuple[str, str]]:
        """(column, purpose) pairs whose grants need the importing person's stated basis."""
        return []

    def ignored(self) -> list[str]:
        return []

    def get(self, cells: Mapping[str, str], *names: str) -> tuple[str, str]:
        """The first non-empty cell among the header names (any spelling of the tool's)."""
        for name in names:
            header = self.by_key.get(name)
            if header is not None and cells.get(header, "").strip():
                return header, cells[header].strip()
        return "", ""

    def put(self, rec: CustomerRecord, cells: Mapping[str, str], name: str, *headers: str) -> None:
        column, value = self.get(cells, *headers)
        rec.fields[name] = value
        if column:
            rec.columns[name] = column

    def read(self, line: int, raw: Sequence[str]) -> CustomerRecord:
        cells, issues = _cells(self.header, raw, line)
        rec = CustomerRecord(line=line, issues=issues)
        if not any(i.error for i in issues):
            self.fill(rec, cells)
        return rec

    def fill(self, rec: CustomerRecord, cells: Mapping[str, str]) -> None:
        raise NotImplementedError


class MailchimpLayout(CustomerLayout):
    system = "mailchimp"
    USED = frozenset(
        {
            "email address", "email", "e-mail address", "email adress", "first name", "fname",
            "last name", "lname", "address", "phone number", "phone", "birthday",
            "optin_time", "optin_ip", "confirm_time", "confirm_ip", "cc", "region", "leid",
            "euid", "notes", "tags", "unsub_time", "unsub_campaign_title", "unsub_campaign_id",
            "unsub_reason", "unsub_reason_other", "clean_time", "clean_campaign_title",
            "clean_campaign_id", "last_changed", "member_rating", "latitude", "longitude",
            "gmtoff", "dstoff", "timezone",
        }
    )  # fmt: skip

    def __init__(self, header: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        super().__init__(header, options)
        self.status = self.options.get("mailchimp_status") or "subscribed"

    def consent_columns(self) -> list[tuple[str, str]]:
        return [("mailchimp_status", Purpose.NEWS_EMAIL)] if self.status == "subscribed" else []

    def ignored(self) -> list[str]:
        return [
            h for h in self.header if key(h) not in self.USED and not key(h).startswith("mmerge")
        ]

    def fill(self, rec: CustomerRecord, cells: Mapping[str, str]) -> None:
        g = self.get
        rec.status = self.status
        _c, cc = g(cells, "cc")
        rec.region = (cc or "FR").upper()[:2]
        self.put(rec, cells, "email", "email address", "email", "e-mail address", "email adress")
        self.put(rec, cells, "first_name", "first name", "fname")
        self.put(rec, cells, "last_name", "last name", "lname")
        self.put(rec, cells, "phone", "phone number", "phone")
        column, address = g(cells, "address")
        if address:
            # Mailchimp joins an address's parts with two spaces: street, city, state, zip, country.
            zips = re.findall(r"(?<!\d)(\d{4,5})(?!\d)", address)
            if zips:
                _postal(rec, column, zips[-1])
        column, birthday = g(cells, "birthday")
        if birthday:
            _birthday(rec, column, birthday, month_first=True)
        self.put(rec, cells, "notes", "notes")
        tags = g(cells, "tags")[1]
        if tags:
            rec.fields["tags"] = rules.mailchimp_tags(tags)
            rec.columns["tags"] = self.by_key["tags"]
        for name in ("optin_time", "confirm_time", "unsub_time", "clean_time", "last_changed"):
            column, text = g(cells, name)
            if text:
                _moment(rec, column, text, name)
        for name in (
            "optin_ip", "confirm_ip", "unsub_reason", "unsub_reason_other",
            "unsub_campaign_title", "clean_campaign_title", "member_rating",
        ):  # fmt: skip
            text = g(cells, name)[1]
            if text:
                rec.evidence[name] = text[:200]
        leid = g(cells, "leid", "euid")[1]
        if leid:
            rec.external = ("mailchimp", leid[:100])
        if self.status == "subscribed":
            rec.consents.append((Purpose.NEWS_EMAIL, "mailchimp_status", True))


class ShopifyLayout(CustomerLayout):
    system = "shopify"
    USED = frozenset(
        {
            "customer id", "first name", "last name", "email", "accepts email marketing",
            "accepts marketing", "default address zip", "zip", "default address country code",
            "country code", "default address phone", "phone", "accepts sms marketing",
            "total spent", "total orders", "note", "tags",
        }
    )  # fmt: skip

    def consent_columns(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        email = self.by_key.get("accepts email marketing") or self.by_key.get("accepts marketing")
        if email:
            out.append((email, Purpose.NEWS_EMAIL.value))
        sms = self.by_key.get("accepts sms marketing")
        if sms:
            out.append((sms, Purpose.NEWS_SMS.value))
        return out

    def ignored(self) -> list[str]:
        return [h for h in self.header if key(h) not in self.USED]

    def fill(self, rec: CustomerRecord, cells: Mapping[str, str]) -> None:
        g = self.get
        country = g(cells, "default address country code", "country code")[1]
        rec.region = (country or "FR").upper()[:2]
        self.put(rec, cells, "email", "email")
        self.put(rec, cells, "first_name", "first name")
        self.put(rec, cells, "last_name", "last name")
        self.put(rec, cells, "phone", "phone", "default address phone")
        column, zipcode = g(cells, "default address zip", "zip")
        if zipcode:
            _postal(rec, column, zipcode)
        self.put(rec, cells, "notes", "note")
        tags = g(cells, "tags")[1]
        if tags:
            rec.fields["tags"] = rules.mailchimp_tags(tags)
            rec.columns["tags"] = self.by_key["tags"]
        customer_id = g(cells, "customer id")[1].lstrip("'")
        if customer_id:
            rec.external = ("shopify", customer_id[:100])
        for name, out in (("total spent", "total_spent"), ("total orders", "total_orders")):
            column, text = g(cells, name)
            if not text:
                continue
            if out == "total_spent":
                try:
                    amount = rules.parse_amount(text)
                except ValueError as exc:
                    rec.issues.append(Issue(column, Code.INVALID_AMOUNT, str(exc), error=False))
                    continue
                rec.external_data[out] = str(amount)
            else:
                rec.external_data[out] = text[:20]
        for column, purpose in self.consent_columns():
            try:
                decision = rules.yes_no(cells.get(column, ""))
            except ValueError as exc:
                rec.issues.append(Issue(column, Code.INVALID, str(exc)))
                continue
            # "no" in Shopify means "not subscribed" (never asked, or left): nothing to record,
            # and it never becomes a grant.
            if decision:
                rec.consents.append((purpose, column, True))


class CsvLayout(CustomerLayout):
    """A spreadsheet of our own columns, mapped by the person importing (or guessed)."""

    system = "csv"

    def __init__(self, header: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        super().__init__(header, options)
        mapping = self.options.get("mapping") or guess_customer_mapping(header)
        self.mapping = {h: mapping.get(h, IGNORE) for h in header}
        self.mapped = [(h, f) for h, f in self.mapping.items() if f]
        self.day_first = not self.options.get("month_first", False)
        purposes = set(Purpose.values)
        self._consents = [
            (h, f.removeprefix("consent_"))
            for h, f in self.mapping.items()
            if f.startswith("consent_") and f.removeprefix("consent_") in purposes
        ]

    def consent_columns(self) -> list[tuple[str, str]]:
        return list(self._consents)

    def ignored(self) -> list[str]:
        return [h for h, f in self.mapping.items() if not f]

    def fill(self, rec: CustomerRecord, cells: Mapping[str, str]) -> None:
        by_field: dict[str, tuple[str, str]] = {}
        for h, f in self.mapped:
            if f not in by_field:
                text = cells.get(h, "").strip()
                if text:
                    by_field[f] = (h, text)
        country = by_field.get("country", ("", ""))[1]
        rec.region = (country or "FR").upper()[:2]
        for name, (column, _value) in by_field.items():
            rec.columns[name] = column
        for name in ("first_name", "last_name", "email", "phone", "notes", "language"):
            if name in by_field:
                rec.fields[name] = by_field[name][1]
        if "language" in rec.fields:
            rec.fields["language"] = rec.fields["language"].lower()[:2]
        if "full_name" in by_field and not (
            rec.fields.get("first_name") or rec.fields.get("last_name")
        ):
            first, _sep, last = by_field["full_name"][1].partition(" ")
            rec.fields["first_name"], rec.fields["last_name"] = first, last
        if "postal_code" in by_field:
            _postal(rec, *by_field["postal_code"])
        if "birthday" in by_field:
            _birthday(rec, *by_field["birthday"], month_first=not self.day_first)
        if "tags" in by_field:
            rec.fields["tags"] = rules.mailchimp_tags(by_field["tags"][1])
        if "external_id" in by_field:
            rec.external = (self.options.get("system") or "csv", by_field["external_id"][1][:100])
        if "consent_news_email_confirmed_at" in by_field:
            _moment(rec, *by_field["consent_news_email_confirmed_at"], "confirm_time")
        for column, purpose in self._consents:
            try:
                decision = rules.yes_no(cells.get(column, ""))
            except ValueError as exc:
                rec.issues.append(Issue(column, Code.INVALID, str(exc)))
                continue
            if decision is not None:
                rec.consents.append((purpose, column, decision))


def customer_layout(
    layout: str, header: Sequence[str], options: Mapping[str, Any]
) -> CustomerLayout:
    classes: dict[str, type[CustomerLayout]] = {
        "mailchimp": MailchimpLayout,
        "shopify": ShopifyLayout,
    }
    cls = classes.get(layout, CsvLayout)
    return cls(header, options)


# --------------------------------------------------------------------------- sales


@dataclass
class SaleRecord:
    line: int
    row_key: str = ""
    kind: str = "sale"
    amount: Decimal = Decimal(0)
    currency: str = "EUR"
    occurred_at: dt.datetime | None = None
    transaction_id: str = ""
    email: str = ""
    phone: str = ""
    card_number: str = ""
    external: tuple[str, str] | None = None
    customer_name: str = ""
    location: str = ""
    description: str = ""
    issues: list[Issue] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return bool(self.issues) and any(i.error for i in self.issues)


def _tz(name: str) -> dt.tzinfo:
    try:
        return (
            zoneinfo.ZoneInfo(name.strip())
            if name and "/" in name
            else zoneinfo.ZoneInfo(settings.TIME_ZONE)
        )
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class SalesLayout:
    system = "csv"

    def __init__(self, header: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        self.header = list(header)
        self.options = dict(options or {})
        self.by_key = {key(h): h for h in header}
        self.currency = str(self.options.get("currency") or "EUR")[:3].upper()

    def ignored(self) -> list[str]:
        return []

    def get(self, cells: Mapping[str, str], *names: str) -> tuple[str, str]:
        for name in names:
            header = self.by_key.get(name)
            if header is not None and cells.get(header, "").strip():
                return header, cells[header].strip()
        return "", ""

    def read(self, line: int, raw: Sequence[str]) -> SaleRecord:
        cells, issues = _cells(self.header, raw, line)
        rec = SaleRecord(line=line, issues=issues)
        if not rec.bad:
            self.fill(rec, cells)
            if not rec.row_key:
                digest = hashlib.sha256("\x1f".join(raw).encode()).hexdigest()[:40]
                rec.row_key = f"{self.system}:row:{digest}"
        return rec

    def fill(self, rec: SaleRecord, cells: Mapping[str, str]) -> None:
        raise NotImplementedError

    def _amount(self, rec: SaleRecord, column: str, text: str) -> Decimal | None:
        try:
            return rules.parse_amount(text)
        except ValueError as exc:
            rec.issues.append(Issue(column, Code.INVALID_AMOUNT, str(exc)))
            return None

    def _when(
        self, rec: SaleRecord, column: str, day: str, time: str, tz: dt.tzinfo, month_first: bool
    ) -> None:
        day, _sep, inline_time = day.strip().replace("T", " ").partition(" ")
        time = time or inline_time.strip()
        try:
            date = rules.parse_date(day, month_first=month_first)
        except ValueError as exc:
            rec.issues.append(Issue(column, Code.INVALID_DATE, str(exc)))
            return
        if date is None:
            rec.issues.append(Issue(column or "date", Code.REQUIRED, _("the date is missing")))
            return
        clock = dt.time(12, 0)
        text = time
        if text:
            try:
                clock = dt.time.fromisoformat(text[:8])
            except ValueError:
                rec.issues.append(
                    Issue(
                        column,
                        Code.INVALID_DATE,
                        _("%(value)s is not a time") % {"value": text[:20]},
                        error=False,
                    )
                )
        rec.occurred_at = dt.datetime.combine(date, clock).replace(tzinfo=tz)


class SquareLayout(SalesLayout):
    system = "square"

    def fill(self, rec: SaleRecord, cells: Mapping[str, str]) -> None:
        g = self.get
        tz = _tz(g(cells, "time zone")[1])
        column, day = g(cells, "date")
        self._when(rec, column or "Date", day, g(cells, "time")[1], tz, month_first=True)
        amount: Decimal | None = None
        column, total = g(cells, "total collected")
        if total:
            amount = self._amount(rec, column, total)
            tip_col, tip = g(cells, "tip")
            tip_amount = self._amount(rec, tip_col, tip) if tip else None
            if amount is not None and tip_amount:
                amount -= tip_amount
        else:
            column, net = g(cells, "net sales", "gross sales")
            if net:
                amount = self._amount(rec, column, net)
        if amount is None and not rec.bad:
            rec.issues.append(Issue("Total Collected", Code.REQUIRED, _("the amount is missing")))
            return
        if amount is None:
            return
        event = g(cells, "event type")[1].lower()
        rec.kind = "refund" if amount < 0 or event == "refund" else "sale"
        rec.amount = abs(amount)
        rec.currency = self.currency
        rec.transaction_id = g(cells, "transaction id")[1][:100]
        payment = g(cells, "payment id")[1]
        if rec.transaction_id or payment:
            rec.row_key = f"square:{rec.transaction_id}:{payment}:{rec.kind}"[:120]
        customer_id = g(cells, "customer id")[1]
        if customer_id:
            rec.external = ("square", customer_id[:100])
        rec.card_number = re.sub(r"\D", "", g(cells, "customer reference id")[1])[:20]
        rec.customer_name = g(cells, "customer name")[1][:100]
        rec.location = g(cells, "location")[1][:100]
        rec.description = (g(cells, "description")[1] or g(cells, "details")[1])[:300]


_NOT_DIGIT = re.compile(r"\D")


class CsvSalesLayout(SalesLayout):
    system = "csv"

    def __init__(self, header: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        super().__init__(header, options)
        mapping = self.options.get("mapping") or guess_sales_mapping(header)
        self.mapping = {h: mapping.get(h, IGNORE) for h in header}
        # The mapped columns, in the header's order (the first non-empty one of a field wins).
        self.mapped = [(h, f) for h, f in self.mapping.items() if f]
        self.tz = _tz("")

    def ignored(self) -> list[str]:
        return [h for h, f in self.mapping.items() if not f]

    def fill(self, rec: SaleRecord, cells: Mapping[str, str]) -> None:
        by: dict[str, tuple[str, str]] = {}
        for h, f in self.mapped:
            if f not in by:
                text = cells.get(h, "").strip()
                if text:
                    by[f] = (h, text)
        none = ("", "")
        column, day = by.get("date", ("date", ""))
        self._when(rec, column, day, by.get("time", none)[1], self.tz, month_first=False)
        column, text = by.get("amount", ("amount", ""))
        amount = self._amount(rec, column, text) if text else None
        if amount is None:
            if not text:
                rec.issues.append(Issue(column, Code.REQUIRED, _("the amount is missing")))
            return
        kind_text = by.get("kind", none)[1]
        kind = fold(kind_text) if kind_text else ""
        rec.kind = (
            "refund" if amount < 0 or kind in ("refund", "remboursement", "avoir") else "sale"
        )
        rec.amount = abs(amount)
        currency = by.get("currency")
        rec.currency = (currency[1] or self.currency)[:3].upper() if currency else self.currency
        if "receipt_id" in by:
            rec.transaction_id = by["receipt_id"][1][:100]
            if rec.transaction_id:
                rec.row_key = f"csv:{rec.transaction_id}:{rec.kind}"[:120]
        rec.email = by.get("email", none)[1]
        rec.phone = by.get("phone", none)[1]
        if "card_number" in by:
            rec.card_number = _NOT_DIGIT.sub("", by["card_number"][1])[:20]
        if "external_id" in by:
            rec.external = (self.options.get("system") or "csv", by["external_id"][1][:100])
        if "customer_name" in by:
            rec.customer_name = by["customer_name"][1][:100]
        if "location" in by:
            rec.location = by["location"][1][:100]
        if "description" in by:
            rec.description = by["description"][1][:300]


def sales_layout(layout: str, header: Sequence[str], options: Mapping[str, Any]) -> SalesLayout:
    return (SquareLayout if layout == Layout.SQUARE else CsvSalesLayout)(header, options)
