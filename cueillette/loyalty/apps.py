from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "cueillette.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # The customer space's hooks: loyalty part of the data export, closing cards on erasure,
        # a card issued/closed when the loyalty consent is given/withdrawn (join page, space).
        from cueillette.loyalty import portal

        portal.register_hooks()
