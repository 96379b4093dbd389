from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_customer_erased(fired: Fired) -> None:
    from cueillette.events import privacy

    privacy.erase_customer(fired["customer"])


class EventsConfig(AppConfig):
    name = "cueillette.events"
    label = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # A customer's registrations are part of their data export; erasure blanks what they
        # typed on the registration form (attendance counts stay), in the erasure's transaction.
        from cueillette.core import consequences, scheduling
        from cueillette.core import demo as core_demo
        from cueillette.core.consequences import Consequence, Phase
        from cueillette.customers import portal
        from cueillette.events import audit_words, demo, privacy

        # Hourly: seat offers that lapse, reminders the day before, feedback after sessions.
        scheduling.register_job("cueillette.events.tasks", hourly=True)
        core_demo.register(demo.load)
        audit_words.register()
        portal.register_exporter(privacy.export_files)
        consequences.subscribe(
            Consequence.CUSTOMER_ERASED, _on_customer_erased, phase=Phase.IN_TRANSACTION
        )
