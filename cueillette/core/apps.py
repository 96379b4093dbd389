from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cueillette.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from cueillette.core import scheduling

        scheduling.register_job("cueillette.core.tasks")  # purge old idempotency records
