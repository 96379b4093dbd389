from django.urls import include, path

from cueillette.messaging.bounces import webhook as bounce_webhook

urlpatterns = [
    # First: the API is most of the traffic (tills), and Django tries the patterns in order.
    path("api/v1/", include("cueillette.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("cueillette.accounts.urls")),
    path("app/customers/", include("cueillette.customers.urls")),
    path("app/loyalty/", include("cueillette.loyalty.urls")),
    path("app/feedback/", include("cueillette.feedback.urls")),
    path("app/referrals/", include("cueillette.referrals.urls")),
    path("app/api-keys/", include("cueillette.apikeys.urls")),
    path("app/community/", include("cueillette.community.urls")),
    path("app/insights/", include("cueillette.insights.urls")),
    path("app/events/", include("cueillette.events.urls")),
    path("app/imports/", include("cueillette.imports.urls")),
    path("app/webhooks/", include("cueillette.webhooks.urls")),
    path("app/messages/", include("cueillette.messaging.urls")),
    path("o/<slug:slug>/", include("cueillette.public.urls")),
    # A mail provider's bounce and complaint events: no login, no page; the shared secret
    # (MESSAGING_WEBHOOK_SECRET) is the capability (cueillette.messaging.bounces.webhook).
    path("hooks/messaging/bounces/", bounce_webhook, name="messaging_bounce_webhook"),
    path("", include("cueillette.web.urls")),
]
