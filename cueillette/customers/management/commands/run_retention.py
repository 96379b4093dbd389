"""``manage.py run_retention``: one retention pass for every organization, here and now.

The same as ``run_scheduler --once --inline`` (see that command), for a cron line.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Warn and anonymise inactive customers of every organization, once, inline."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("run_scheduler", once=True, inline=True, stdout=self.stdout)
