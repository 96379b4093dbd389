"""Staff pages of insights, mounted at /app/insights/ (namespace "insights")."""

from django.urls import URLPattern, path

from cueillette.insights import views

app_name = "insights"

urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("segments/<slug:code>/", views.segment, name="segment"),
    path("segments/<slug:code>/call-list/", views.call_list, name="call_list"),
    path("segments/<slug:code>/contacts.csv", views.contacts_csv, name="contacts_csv"),
    path("at-risk/", views.at_risk, name="at_risk"),
    path("model/", views.model, name="model"),
    path("refresh/", views.refresh, name="refresh"),
    path("lost-revenue/", views.lost, name="lost"),
    path("changes/", views.changes, name="changes"),
    path("changes/<int:pk>/", views.change, name="change"),
    path("changes/<int:pk>/link/", views.link_change, name="link_change"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("reasons/", views.reasons, name="reasons"),
    path("reasons/<int:pk>/", views.reason_edit, name="reason_edit"),
    path("customer/<int:pk>/", views.customer, name="customer"),
    path("customer/<int:pk>/reason/", views.customer_reason, name="customer_reason"),
    path("customer/<int:pk>/note/", views.customer_note, name="customer_note"),
    path("customer/<int:pk>/exit-survey/", views.customer_survey, name="customer_survey"),
]
