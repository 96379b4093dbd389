"""Public pages of one organization, mounted at /o/<slug>/ (see config/urls.py)."""

from django.urls import include, path

from cueillette.public import views

app_name = "public"
urlpatterns = [
    path("join/", views.join, name="join"),
    path("join/thanks/", views.join_done, name="join_done"),
    path("poster/", views.poster, name="poster"),
    path("poster/qr.svg", views.poster_qr, name="poster_qr"),
    path("confirm/<str:token>/", views.confirm_email, name="confirm_email"),
    path("space/", views.portal_home, name="portal"),
    path("space/link/", views.portal_request, name="portal_request"),
    path("space/open/<str:token>/", views.portal_open, name="portal_open"),
    path("space/edit/", views.portal_edit, name="portal_edit"),
    path("space/consent/", views.portal_consent, name="portal_consent"),
    path("space/export/", views.portal_export, name="portal_export"),
    path("space/erase/", views.portal_erase, name="portal_erase"),
    path("space/logout/", views.portal_logout, name="portal_logout"),
    # The loyalty card in the customer's space (wallet, history, rewards): cueillette/loyalty.
    path("", include("cueillette.loyalty.urls_portal")),
    # The community page (wall, threads, posting, feed): cueillette/community.
    path("", include("cueillette.community.urls_public")),
    # Refer a friend (the member's page, the friend's landing page): cueillette/referrals.
    path("", include("cueillette.referrals.urls_public")),
    # The NPS survey of an email and its one-click unsubscribe: cueillette/feedback.
    path("", include("cueillette.feedback.urls_public")),
    # The one-question exit survey for customers who stopped coming: cueillette/insights.
    path("", include("cueillette.insights.urls_public")),
    # Sessions and their registration (list, feeds, register, the registration's page).
    path("", include("cueillette.events.urls_public")),
    # Leaving a message's list in one click (RFC 8058), fewer messages, a pause: messaging.
    path("", include("cueillette.messaging.urls_public")),
]
