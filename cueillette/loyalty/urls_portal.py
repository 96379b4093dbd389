"""The member's side of the loyalty program, inside the "public" namespace at /o/<slug>/.

Names: public:loyalty, public:loyalty_join, public:loyalty_leave, public:loyalty_card_print,
public:wallet, public:wallet_manifest, public:wallet_sw.
"""

from django.urls import URLPattern, path

from cueillette.loyalty import views_portal as views

urlpatterns: list[URLPattern] = [
    path("space/loyalty/", views.loyalty_home, name="loyalty"),
    path("space/loyalty/join/", views.loyalty_join, name="loyalty_join"),
    path("space/loyalty/leave/", views.loyalty_leave, name="loyalty_leave"),
    path("space/loyalty/card/", views.loyalty_card_print, name="loyalty_card_print"),
    # The wallet: a signed link (no session), its manifest and its service worker share one
    # path so that the worker's scope is exactly the wallet page.
    path("wallet/<str:token>/", views.wallet, name="wallet"),
    path("wallet/<str:token>/manifest.webmanifest", views.wallet_manifest, name="wallet_manifest"),
    path("wallet/<str:token>/sw.js", views.wallet_sw, name="wallet_sw"),
]
