"""The bytes of a batch's emails, built once per shape and filled in per recipient.

Django builds each message as a tree of ``email`` package objects and serialises it through
the ``compat32`` policy, folding every header (about 0.5 ms a message, as much as the SMTP
exchange with a local server). The messages of one hand-off batch differ only in their
recipient, their own headers (``Message-ID``, the unsubscribe headers) and their bodies, so
:class:`Shapes` has Django build one *prototype* per shape (subject, sender, Reply-To, the
names of the extra headers, text only or text + HTML) with stand-ins for what varies, and
each message is the prototype with its own values put in: the header lines folded by the
same ``compat32`` policy, the bodies with their line ends made CRLF as the generator makes
them. The result is the bytes Django would send (the MIME boundary and ``Date`` are the
batch's); anything outside the simple case — a non-ASCII address or header value, a body line
over 998 bytes (quoted-printable), a body containing the boundary — is built by Django itself
(:func:`wire_or_none` returns ``None``). ``test_wire`` compares both byte for byte.
"""

from __future__ import annotations

import re
from email import policy as email_policy
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives

_POLICY = email_policy.compat32.clone(linesep="\r\n")
_MAX_LINE = 998  # RFC 5322; Django switches a body to quoted-printable above it
_NL = re.compile(r"\r\n|\r|\n")
_SIMPLE_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII, single inner spaces
_SLOT = "cueillette-wire-slot-{}"
_TEXT_SLOT = "cueillette-wire-text-slot"
_HTML_SLOT = "cueillette-wire-html-slot"
_RESERVED = {"from", "to", "cc", "bcc", "reply-to", "date", "subject", "content-type"}


def _fold(name: str, value: str) -> bytes | None:
    """The header line as compat32 writes it, or None when Django would encode the value."""
    if "\n" in value or "\r" in value or not value.isascii():
        return None
    if len(name) + 2 + len(value) <= 78 and _SIMPLE_VALUE.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _POLICY.fold_binary(name, value)


def _body(text: str, boundary: bytes) -> bytes | None:
    """A body as the generator writes an 8bit utf-8 part, or None outside the simple case."""
    try:
        data = _NL.sub("\r\n", text).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: let Django deal with them
        return None
    if boundary and boundary in data:
        return None
    # Django's own test for quoted-printable (str.splitlines knows more line ends than NLCRE).
    if any(len(line.encode("utf-8")) > _MAX_LINE for line in text.splitlines()):
        return None
    return data


class _Wire:
    """What ``EmailMessage.message()`` returns to a backend: the finished bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\r\n":
            return self.data
        return self.data.replace(b"\r\n", linesep.encode("ascii"))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", "surrogateescape")


class WireEmail(EmailMultiAlternatives):
    """An email whose serialised form was built by :class:`Shapes` (same bytes as Django's);
    every attribute (to, subject, body, extra_headers, alternatives) is the ordinary one."""

    wire: bytes = b""

    def message(self, *, policy: Any = None) -> Any:
        return _Wire(self.wire)


class _Prototype:
    def __init__(self, email: EmailMessage, names: tuple[str, ...]) -> None:
        html = _html_of(email)
        # A pure-ASCII part is declared 7bit, any other 8bit: the stand-in is alike.
        text_slot = _TEXT_SLOT + ("" if str(email.body).isascii() else "\u00e9")
        html_slot = _HTML_SLOT + ("" if html is None or html.isascii() else "\u00e9")
        proto = EmailMultiAlternatives(
            subject=email.subject,
            body=text_slot,
            from_email=email.from_email,
            to=[_SLOT.format("to")],
            reply_to=email.reply_to or None,
            headers={n: _SLOT.format(i) for i, n in enumerate(names)},
        )
        if html is not None:
            proto.attach_alternative(html_slot, "text/html")
        built: Any = proto.message()  # Django's SafeMIME classes take a linesep
        data: bytes = built.as_bytes(linesep="\r\n")
        found = re.search(rb'boundary="([^"]+)"', data.split(b"\r\n\r\n", 1)[0])
        self.boundary = found.group(1) if found else b""
        self.has_html = html is not None
        # Split around the stand-ins: header lines (whole lines) and bodies.
        marks: list[tuple[bytes, str]] = [(f"To: {_SLOT.format('to')}\r\n".encode(), "to")]
        marks += [(f"{n}: {_SLOT.format(i)}\r\n".encode(), n) for i, n in enumerate(names)]
        marks.append((text_slot.encode(), "\x00text"))
        if html is not None:
            marks.append((html_slot.encode(), "\x00html"))
        positions = []
        for mark, key in marks:
            at = data.find(mark)
            if at < 0 or data.find(mark, at + 1) >= 0:
                raise ValueError(f"wire prototype: {key!r} not found once")
            positions.append((at, len(mark), key))
        positions.sort()
        self.pieces: list[bytes] = []
        self.keys: list[str] = []
        start = 0
        for at, size, key in positions:
            self.pieces.append(data[start:at])
            self.keys.append(key)
            start = at + size
        self.tail = data[start:]

    def fill(self, email: EmailMessage) -> bytes | None:
        to = ", ".join(str(v) for v in email.to)
        text = _body(str(email.body), self.boundary)
        html = _html_of(email)
        html_bytes = _body(html, self.boundary) if html is not None else b""
        if text is None or html_bytes is None:
            return None
        values: dict[str, bytes] = {"\x00text": text, "\x00html": html_bytes}
        line = _fold("To", to)
        if line is None:
            return None
        values["to"] = line
        for name, value in email.extra_headers.items():
            line = _fold(name, str(value))
            if line is None:
                return None
            values[name] = line
        out = []
        for piece, key in zip(self.pieces, self.keys, strict=True):
            out.append(piece)
            out.append(values[key])
        out.append(self.tail)
        return b"".join(out)


def _html_of(email: EmailMessage) -> str | None:
    alternatives = getattr(email, "alternatives", None) or []
    if not alternatives:
        return None
    if len(alternatives) != 1:
        raise _Unsupported
    content, mimetype = alternatives[0][0], alternatives[0][1]
    if mimetype != "text/html" or not isinstance(content, str):
        raise _Unsupported
    return content


class _Unsupported(Exception):
    pass


class Shapes:
    """The prototypes of one batch (built when first needed)."""

    def __init__(self) -> None:
        self._protos: dict[tuple[Any, ...], _Prototype | None] = {}

    def wire_or_none(self, email: EmailMessage) -> bytes | None:
        """The message's bytes, or None if Django must build this one itself."""
        try:
            html = _html_of(email)
        except _Unsupported:
            return None
        names = tuple(str(n) for n in email.extra_headers)
        if (
            not email.body  # Django leaves the text part out
            or email.cc
            or email.bcc
            or email.attachments
            or len(email.to) != 1
            or email.content_subtype != "plain"
            or (email.encoding or "utf-8").lower() != "utf-8"
            or any(n.lower() in _RESERVED for n in names)
            or len({n.lower() for n in names}) != len(names)
            # Without its own Message-ID Django makes one per message: not a batch's.
            or "message-id" not in {n.lower() for n in names}
        ):
            return None
        key = (
            str(email.subject),
            str(email.from_email),
            tuple(str(r) for r in email.reply_to),
            names,
            html is not None,
            str(email.body).isascii(),
            html is None or html.isascii(),
        )
        if key not in self._protos:
            try:
                self._protos[key] = _Prototype(email, names)
            except Exception:  # a shape Django builds differently: always its own way
                self._protos[key] = None
        proto = self._protos[key]
        return proto.fill(email) if proto is not None else None

    def prepare(self, email: EmailMultiAlternatives) -> EmailMultiAlternatives:
        """The same email, carrying its prebuilt bytes when the simple case applies."""
        data = self.wire_or_none(email)
        if data is None:
            return email
        prepared = WireEmail(
            subject=email.subject,
            body=email.body,
            from_email=email.from_email,
            to=email.to,
            headers=email.extra_headers,
            reply_to=email.reply_to or None,
        )
        prepared.alternatives = list(email.alternatives)
        prepared.wire = data
        return prepared
