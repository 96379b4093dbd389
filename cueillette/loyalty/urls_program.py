"""Program pages, mounted at /app/loyalty/program/ (namespace "loyalty")."""

from django.urls import URLPattern, path

from cueillette.loyalty import views_program as views

urlpatterns: list[URLPattern] = [
    path("", views.program_settings, name="program_settings"),
    path("rewards/", views.reward_list, name="program_rewards"),
    path("rewards/new/", views.reward_new, name="program_reward_new"),
    path("rewards/<int:pk>/", views.reward_edit, name="program_reward_edit"),
    path("rewards/<int:pk>/active/", views.reward_active, name="program_reward_active"),
    path("rewards/<int:pk>/delete/", views.reward_delete, name="program_reward_delete"),
    path("tiers/", views.tier_list, name="program_tiers"),
    path("tiers/new/", views.tier_new, name="program_tier_new"),
    path("tiers/<int:pk>/", views.tier_edit, name="program_tier_edit"),
    path("simulate/", views.simulate, name="program_simulate"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.csv", views.dashboard_csv, name="dashboard_csv"),
]
