"""The one-question exit survey, inside the "public" namespace at /o/<slug>/."""

from django.urls import URLPattern, path

from cueillette.insights import views_public

urlpatterns: list[URLPattern] = [
    path("leaving/<str:token>/", views_public.exit_survey, name="exit_survey"),
]
