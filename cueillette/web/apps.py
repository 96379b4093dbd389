from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cueillette.web"
    label = "web"
    verbose_name = "Web"
