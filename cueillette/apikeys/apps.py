from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "cueillette.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
