"""Staff pages of the loyalty program, mounted at /app/loyalty/ (namespace "loyalty")."""

from django.urls import include, path

app_name = "loyalty"
urlpatterns = [
    path("", include("cueillette.loyalty.urls_counter")),
    path("program/", include("cueillette.loyalty.urls_program")),
]
