"""The public community page, inside the "public" namespace at /o/<slug>/.

Names: public:community, public:community_new, public:community_new_sent,
public:community_post, public:community_edit, public:community_me_too,
public:community_subscribe, public:community_unsubscribe, public:community_appeal,
public:community_confirm, public:community_feed, public:community_answer,
public:community_resolve, public:community_withdraw, public:community_answer_appeal.
"""

from django.urls import URLPattern, path

from cueillette.community import views_public as views

urlpatterns: list[URLPattern] = [
    path("community/", views.wall, name="community"),
    path("community/new/", views.new_post, name="community_new"),
    path("community/new/sent/", views.draft_sent, name="community_new_sent"),
    path("community/feed.atom", views.feed, name="community_feed"),
    path("community/<int:pk>/", views.thread, name="community_post"),
    path("community/<int:pk>/edit/", views.edit_post, name="community_edit"),
    path("community/<int:pk>/me-too/", views.me_too, name="community_me_too"),
    path("community/<int:pk>/follow/", views.subscribe, name="community_subscribe"),
    path("community/<int:pk>/appeal/", views.appeal, name="community_appeal"),
    path("community/<int:pk>/answer/", views.answer, name="community_answer"),
    path("community/<int:pk>/resolve/", views.resolve, name="community_resolve"),
    path("community/<int:pk>/withdraw/", views.withdraw, name="community_withdraw"),
    path(
        "community/answers/<int:pk>/appeal/",
        views.appeal_answer,
        name="community_answer_appeal",
    ),
    path("community/unsubscribe/<str:token>/", views.unsubscribe, name="community_unsubscribe"),
    path("community/confirm/<str:token>/", views.confirm, name="community_confirm"),
]
