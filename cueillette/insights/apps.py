from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "cueillette.insights"
    label = "insights"
    verbose_name = "Insights"
