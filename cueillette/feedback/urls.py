"""The owner's feedback pages, mounted at /app/feedback/ (namespace "feedback")."""

from django.urls import URLPattern, path

from cueillette.feedback import views

app_name = "feedback"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="nps"),
    path("comments/", views.comments, name="comments"),
    path("follow-up/", views.follow_up, name="follow_up"),
    path("follow-up/<int:pk>/", views.follow_up_update, name="follow_up_update"),
    path("settings/", views.settings_page, name="settings"),
]
