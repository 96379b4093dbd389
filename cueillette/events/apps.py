from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "cueillette.events"
    label = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # A customer's registrations are part of their data export; erasure blanks the names,
        # emails and answers typed on the registration form (attendance counts stay).
        from cueillette.customers import portal
        from cueillette.events import privacy

        portal.register_exporter(privacy.export_files)
        portal.register_eraser(privacy.erase_customer)
