from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "cueillette.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # Loyalty part of the data export; subscriptions: closing cards on erasure, a card
        # issued/closed when the loyalty consent is given/withdrawn (whatever the door).
        from cueillette.loyalty import portal

        portal.register_hooks()
