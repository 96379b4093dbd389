from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "cueillette.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        from cueillette.imports import audit_words

        audit_words.register()
