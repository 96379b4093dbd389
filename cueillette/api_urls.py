from django.urls import path

from cueillette.api import api

urlpatterns = [path("", api.urls)]
