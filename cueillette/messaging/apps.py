from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "cueillette.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Automatic messages hear the actions' consequences; erasure blanks the decision log.
        from cueillette.core import mail, scheduling
        from cueillette.messaging import audit_words, automatic, gate, privacy

        # core.mail.send_templated asks this gate (core imports no domain app).
        mail.register_gate(lambda **fields: gate.request_message(gate.Message(**fields)))
        automatic.register()
        privacy.register()
        audit_words.register()
        # Hourly: scheduled campaigns, messages after quiet hours, retries; daily: birthdays,
        # "we miss you", rewards reached by points.
        scheduling.register_job("cueillette.messaging.tasks", hourly=True)
        scheduling.register_job("cueillette.messaging.daily")
