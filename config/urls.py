from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("cueillette.accounts.urls")),
    path("app/customers/", include("cueillette.customers.urls")),
    path("app/loyalty/", include("cueillette.loyalty.urls")),
    path("app/api-keys/", include("cueillette.apikeys.urls")),
    path("o/<slug:slug>/", include("cueillette.public.urls")),
    path("api/v1/", include("cueillette.api_urls")),
    path("", include("cueillette.web.urls")),
]
