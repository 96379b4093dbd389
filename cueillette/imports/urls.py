from django.urls import path

from cueillette.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/check/", views.check, name="check"),
    path("<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/rows.csv", views.issues_csv, name="issues_csv"),
]
