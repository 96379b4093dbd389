"""The survey and its unsubscribe link, inside the "public" namespace at /o/<slug>/.

Names: public:survey (the one-question page of a survey email), public:survey_unsubscribe
(stop feedback requests in one click; RFC 8058 POST too).
"""

from django.urls import URLPattern, path

from cueillette.feedback import views_public as views

urlpatterns: list[URLPattern] = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path("feedback/stop/<str:token>/", views.unsubscribe, name="survey_unsubscribe"),
]
