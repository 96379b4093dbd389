"""``manage.py process_bounces <mailbox>``: read delivery status notifications, complaints and
mailto unsubscribes from an mbox file or a Maildir folder (read messages are removed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.messaging import bounces


class Command(BaseCommand):
    help = "Suppress hard-bounced and complaining addresses found in a mailbox (RFC 3464 DSNs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mailbox", help="an mbox file or a Maildir folder")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = bounces.process_mailbox(options["mailbox"])
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing")
