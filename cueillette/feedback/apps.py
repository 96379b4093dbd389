from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "cueillette.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        # A customer's answers are part of their data export; erasure keeps the score for the
        # statistics and drops the comment and the follow-up note.
        from cueillette.customers import portal
        from cueillette.feedback import privacy

        portal.register_exporter(privacy.export_files)
        portal.register_eraser(privacy.erase_customer)
