"""The product's URLs plus the bench's floor route (served only by the bench's gunicorn)."""

from django.urls import URLPattern, URLResolver, path

from bench.till_app import floor_purchase
from config.urls import urlpatterns as product_urls

urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/floor/purchases", floor_purchase),
    *product_urls,
]
