"""Staff pages of the referral program, mounted at /app/referrals/ (namespace "referrals")."""

from django.urls import URLPattern, path

from cueillette.referrals import views

app_name = "referrals"

urlpatterns: list[URLPattern] = [
    path("", views.referral_list, name="list"),
    path("review/", views.review_queue, name="review"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("settings/", views.program_settings, name="settings"),
    path("advocates/", views.advocates, name="advocates"),
    path("advocates/<int:pk>/", views.advocate, name="advocate"),
    path("advocates/<int:pk>/thank/", views.thank, name="thank"),
    path("figures/", views.figures, name="figures"),
    path("customer/<int:pk>/referrer/", views.set_referrer, name="set_referrer"),
]
