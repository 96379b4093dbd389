from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "cueillette.imports"
    label = "imports"
    verbose_name = "Imports"
