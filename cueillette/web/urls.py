from django.urls import path

from cueillette.web import views

app_name = "web"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("app/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]
