from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_customer_erased(fired: Fired) -> None:
    from cueillette.insights import privacy

    privacy.erase_customer(fired["customer"])


class InsightsConfig(AppConfig):
    name = "cueillette.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        # A customer's figures, reasons and notes are part of their export; erasure removes
        # the figures and blanks the texts, inside the erasure's transaction.
        from cueillette.core import consequences, scheduling
        from cueillette.core import demo as core_demo
        from cueillette.core.consequences import Consequence, Phase
        from cueillette.customers import portal
        from cueillette.insights import demo, privacy

        # Segments, churn risk and customer value, refitted nightly; the shop's demo story.
        scheduling.register_job("cueillette.insights.tasks")
        core_demo.register(demo.load)
        portal.register_exporter(privacy.export_files)
        consequences.subscribe(
            Consequence.CUSTOMER_ERASED, _on_customer_erased, phase=Phase.IN_TRANSACTION
        )
