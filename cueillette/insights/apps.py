from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_customer_erased(fired: Fired) -> None:
    from cueillette.insights import privacy

    privacy.erase_customer(fired["customer"])


def _load_demo(org: Any, customers: Any, rng: Any, now: Any) -> None:
    # The demo story needs the fitting engine (numpy, scipy): imported when a demo is
    # loaded, not by every process that starts Django (scipy alone takes ~0.7 s to import).
    from cueillette.insights import demo

    demo.load(org, customers, rng, now)


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
        from cueillette.insights import privacy

        # Segments, churn risk and customer value, refitted nightly; the shop's demo story.
        scheduling.register_job("cueillette.insights.tasks")
        core_demo.register(_load_demo)
        portal.register_exporter(privacy.export_files)
        consequences.subscribe(
            Consequence.CUSTOMER_ERASED, _on_customer_erased, phase=Phase.IN_TRANSACTION
        )
