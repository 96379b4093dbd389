from django.urls import path

from cueillette.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/events/", views.events, name="events"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/pause/", views.toggle, name="toggle"),
    path("<int:pk>/remove/", views.remove, name="remove"),
    path("<int:pk>/deliveries/<int:delivery_id>/replay/", views.replay, name="replay"),
]
