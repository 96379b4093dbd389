from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "cueillette.public"
    label = "public"
    verbose_name = "Public pages and customer space"
