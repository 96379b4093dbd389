"""The staff pages of sessions, mounted at /app/events/ (namespace "events")."""

from django.urls import URLPattern, path

from cueillette.events import views

app_name = "events"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("new/", views.session_new, name="session_new"),
    path("series/new/", views.series_new, name="series_new"),
    path("series/<int:pk>/", views.series_detail, name="series"),
    path("<int:pk>/", views.session_detail, name="session"),
    path("<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("<int:pk>/scan/", views.scan, name="scan"),
    path("<int:pk>/walk-in/", views.walk_in, name="walk_in"),
    path("registrations/<int:pk>/check-in/", views.check_in, name="check_in"),
    path("registrations/<int:pk>/cancel/", views.cancel_registration, name="cancel_registration"),
]
