from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "cueillette.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Every action fires its consequences; webhooks hear them all, whatever the entry point.
        from cueillette.core import scheduling
        from cueillette.webhooks import audit_words, outbox

        outbox.subscribe_all()
        audit_words.register()
        # Hourly: deliveries due (retries with back-off, and any left behind by a crash).
        scheduling.register_job("cueillette.webhooks.tasks", hourly=True)
