from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_customer_erased(fired: Fired) -> None:
    from cueillette.community import services

    services.erase_author(fired["customer"], fired.get("former_names") or ("", ""))


class CommunityConfig(AppConfig):
    name = "cueillette.community"
    label = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        # A customer's erasure anonymises them as the author of community posts (in the
        # erasure's transaction). Their posts, appeals and me-too marks are part of their data
        # export.
        from cueillette.community import demo, queries
        from cueillette.core import consequences, scheduling
        from cueillette.core import demo as core_demo
        from cueillette.core.consequences import Consequence, Phase
        from cueillette.customers import portal

        consequences.subscribe(
            Consequence.CUSTOMER_ERASED, _on_customer_erased, phase=Phase.IN_TRANSACTION
        )
        portal.register_exporter(queries.export_files)
        # Purge unconfirmed first posts past their expiry; the owner's weekly digest.
        scheduling.register_job("cueillette.community.drafts")
        scheduling.register_job("cueillette.community.tasks")
        core_demo.register(demo.load)
