"""SMS backends, pluggable like Django's email backends.

``settings.MESSAGING_SMS_BACKEND`` names a class with ``send_messages(messages) -> int``;
the default, :class:`ConsoleBackend`, writes them to the standard output (development, demo).
Only the send gate's delivery module (``messaging/delivery.py``) calls a backend.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "cueillette.messaging.sms.ConsoleBackend"


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    text: str
    reference: str = ""  # the delivery's id, for the provider's delivery reports


class SmsBackend(Protocol):
    def send_messages(self, messages: Sequence[SmsMessage]) -> int: ...


class ConsoleBackend:
    """Print each SMS (nothing leaves the machine)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        with self._lock:
            for m in messages:
                self.stream.write(f"SMS to {m.to} [{m.reference}]\n{m.text}\n{'-' * 40}\n")
            self.stream.flush()
        return len(messages)


# Messages "sent" with the locmem backend, for tests (like django.core.mail.outbox).
outbox: list[SmsMessage] = []


class LocmemBackend:
    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


def get_backend() -> SmsBackend:
    path = getattr(settings, "MESSAGING_SMS_BACKEND", "") or DEFAULT_BACKEND
    backend: SmsBackend = import_string(path)()
    return backend
