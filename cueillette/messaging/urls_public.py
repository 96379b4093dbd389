"""The unsubscribe link of every message, inside the "public" namespace at /o/<slug>/.

public:messaging_unsubscribe — GET shows the choices (nothing changes on GET: link scanners
follow links); POST applies one; a mail program's RFC 8058 one-click POST unsubscribes."""

from django.urls import URLPattern, path

from cueillette.messaging import views_public as views

urlpatterns: list[URLPattern] = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="messaging_unsubscribe"),
]
