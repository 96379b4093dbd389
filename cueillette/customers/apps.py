from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "cueillette.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from cueillette.customers import care

        care.register_hooks()
