from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "cueillette.customers"
    label = "customers"
    verbose_name = "Customers"
