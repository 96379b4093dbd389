"""The counter screen (namespace "loyalty", mounted at /app/loyalty/)."""

from django.urls import URLPattern, path

from cueillette.loyalty import views_counter as views

urlpatterns: list[URLPattern] = [
    path("", views.counter, name="counter"),
    path("card/<int:pk>/", views.counter_card, name="counter_card"),
    path("card/<int:pk>/preview/", views.preview, name="counter_preview"),
    path("card/<int:pk>/purchase/", views.purchase, name="counter_purchase"),
    path("card/<int:pk>/redeem/", views.redeem, name="counter_redeem"),
    path("card/<int:pk>/undo/", views.undo, name="counter_undo"),
    path("card/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("customer/<int:pk>/", views.counter_customer, name="counter_customer"),
    path("customer/<int:pk>/join/", views.join, name="counter_join"),
]
