from django.urls import path

app_name = "apikeys"
urlpatterns: list = []
