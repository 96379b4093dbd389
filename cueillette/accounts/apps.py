from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cueillette.accounts"
    label = "accounts"
    verbose_name = "Accounts"
