from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_customer_erased(fired: Fired) -> None:
    from cueillette.feedback import privacy

    privacy.erase_customer(fired["customer"])


class FeedbackConfig(AppConfig):
    name = "cueillette.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        # A customer's answers are part of their data export; erasure keeps the score for the
        # statistics and drops the comment and the follow-up note (in the erasure's transaction).
        from cueillette.core import consequences, scheduling
        from cueillette.core import demo as core_demo
        from cueillette.core.consequences import Consequence, Phase
        from cueillette.customers import portal
        from cueillette.feedback import demo, privacy

        portal.register_exporter(privacy.export_files)
        consequences.subscribe(
            Consequence.CUSTOMER_ERASED, _on_customer_erased, phase=Phase.IN_TRANSACTION
        )
        # NPS surveys at every wake-up: "two hours after a visit" means about two hours.
        scheduling.register_job("cueillette.feedback.tasks", hourly=True)
        core_demo.register(demo.load)
