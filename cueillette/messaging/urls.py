"""Staff messaging pages, mounted at /app/messages/ (namespace "messaging")."""

from django.urls import path

from cueillette.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.campaigns, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/preview/", views.preview, name="preview"),
    path("campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("campaigns/<int:pk>/<str:action>/", views.campaign_act, name="campaign_act"),
    path("segments/", views.segments, name="segments"),
    path("segments/new/", views.segment_edit, name="segment_new"),
    path("segments/<int:pk>/", views.segment_edit, name="segment"),
    path("automatic/", views.automatic_list, name="automatic"),
    path("settings/", views.pressure, name="pressure"),
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/<int:pk>/lift/", views.suppression_lift, name="suppression_lift"),
]
