from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "cueillette.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # Loyalty part of the data export; subscriptions: closing cards on erasure, a card
        # issued/closed when the loyalty consent is given/withdrawn (whatever the door).
        from cueillette.core import demo as core_demo
        from cueillette.core import scheduling
        from cueillette.loyalty import demo, portal

        portal.register_hooks()
        # Expire due points, expiry warnings, monthly tier review; the demo's purchases.
        scheduling.register_job("cueillette.loyalty.tasks")
        core_demo.register(demo.load)
