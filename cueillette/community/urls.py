"""Staff pages of the community page, mounted at /app/community/ (namespace "community").

No route deletes anything: posts are hidden for a listed reason and shown again.
"""

from django.urls import path

from cueillette.community import views_staff as views

app_name = "community"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("posts/<int:pk>/", views.thread, name="thread"),
    path("posts/<int:pk>/reply/", views.reply, name="reply"),
    path("posts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("posts/<int:pk>/status/", views.set_status, name="status"),
    path("posts/<int:pk>/link/", views.link_customer, name="link"),
    path("posts/<int:pk>/themes/", views.tag_themes, name="themes"),
    path("posts/<int:pk>/hide/", views.hide, name="hide"),
    path("posts/<int:pk>/restore/", views.restore, name="restore"),
    path("replies/<int:pk>/hide/", views.hide_reply, name="hide_reply"),
    path("appeals/<int:pk>/decide/", views.decide_appeal, name="decide_appeal"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("settings/", views.community_settings, name="settings"),
    path("settings/reanalyse/", views.reanalyse, name="reanalyse"),
]
