from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cueillette.core"
    label = "core"
    verbose_name = "Core"
