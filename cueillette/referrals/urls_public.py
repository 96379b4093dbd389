"""Referral pages in the "public" namespace at /o/<slug>/ (included by cueillette/public/urls.py).

Names: public:referral_share, public:referral_qr, public:referral_landing, public:referral_joined.
"""

from django.urls import URLPattern, path

from cueillette.referrals import views_public as views

urlpatterns: list[URLPattern] = [
    path("space/refer/", views.share, name="referral_share"),
    path("space/refer/qr.svg", views.share_qr, name="referral_qr"),
    path("r/<str:code>/", views.landing, name="referral_landing"),
    path("r/<str:code>/thanks/", views.joined, name="referral_joined"),
]
