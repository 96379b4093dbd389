from django.urls import path

from cueillette.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("check-duplicates/", views.duplicate_check, name="duplicate_check"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("export/", views.export, name="export"),
    path("export/data/", views.export_data, name="export_data"),
    path("import/", views.import_file, name="import"),
    path("audit/", views.audit_log, name="audit"),
    path("wordings/", views.wordings, name="wordings"),
    path("wordings/<str:purpose>/<str:language>/", views.wording_edit, name="wording_edit"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/consent/", views.consent, name="consent"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/erase/", views.erase, name="erase"),
    path("<int:pk>/care-notes/", views.care_note_add, name="care_note_add"),
]
