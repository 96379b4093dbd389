"""Public pages of sessions, inside the "public" namespace at /o/<slug>/sessions/."""

from django.urls import URLPattern, path

from cueillette.events import views_public as views

urlpatterns: list[URLPattern] = [
    path("sessions/", views.sessions, name="events"),
    path("sessions/feed.atom", views.feed_atom, name="events_feed"),
    path("sessions/calendar.ics", views.feed_ics, name="events_calendar"),
    path("sessions/<int:pk>/", views.detail, name="event_detail"),
    path("sessions/<int:pk>/sent/", views.sent, name="event_sent"),
    path("sessions/confirm/<str:token>/", views.confirm, name="event_confirm"),
    path("sessions/r/<str:token>/", views.registration, name="event_registration"),
    path("sessions/r/<str:token>/cancel/", views.registration_cancel, name="event_cancel"),
    path("sessions/r/<str:token>/accept/", views.registration_accept, name="event_accept"),
    path("sessions/r/<str:token>/session.ics", views.registration_ics, name="event_ics"),
    path("sessions/f/<str:token>/", views.feedback, name="event_feedback"),
]
