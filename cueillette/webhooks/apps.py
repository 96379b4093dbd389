from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "cueillette.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Every action fires its consequences; webhooks hear them all, whatever the entry point.
        from cueillette.webhooks import outbox

        outbox.subscribe_all()
        from cueillette.webhooks import audit_words

        audit_words.register()
