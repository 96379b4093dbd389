from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired


def _on_organization_created(fired: Fired) -> None:
    from cueillette.customers.services import seed_wordings

    seed_wordings(fired["organization"])


class CustomersConfig(AppConfig):
    name = "cueillette.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from cueillette.customers import care

        care.register_hooks()
        # A new business starts with version 1 of every consent wording (in its creation's
        # transaction).
        from cueillette.core import consequences
        from cueillette.core.consequences import Consequence, Phase

        consequences.subscribe(
            Consequence.ORGANIZATION_CREATED, _on_organization_created, phase=Phase.IN_TRANSACTION
        )
