from django.core.files.uploadedfile import SimpleUploadedFile

from cueillette.core import tenancy
from cueillette.core.models import AuditEvent
from cueillette.customers.models import Customer

CSV = (
    "Prénom;Nom;E-mail;Téléphone\n"
    "Hélène;Durand;helene.durand@example.net;06 12 34 56 78\n"
    "Paul;Martin;paul.martin@;06 98 76 54 32\n"
    "=cmd();Leroy;ana.leroy@example.net;0611\n"
).encode()


def upload(name: str = "clients.csv", data: bytes = CSV) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_check_reports_every_bad_row_and_writes_nothing(org, manager_client):
    manager_client.cookies["django_language"] = "en"
    response = manager_client.post("/app/customers/import/", {"file": upload(), "mode": "check"})
    assert response.status_code == 400  # the report lists bad rows
    html = response.content.decode()
    assert "email is not valid" in html
    assert "<td>3</td>" in html and "<td>4</td>" in html  # line numbers of the bad rows
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 0


def test_import_writes_good_rows_and_audits(org, manager_client):
    response = manager_client.post("/app/customers/import/", {"file": upload(), "mode": "import"})
    assert response.status_code == 400  # two bad rows reported
    with tenancy.tenant_context(org):
        assert list(Customer.objects.values_list("email", flat=True)) == [
            "helene.durand@example.net"
        ]
        assert AuditEvent.objects.filter(action="customers.imported").count() == 1


def test_all_or_nothing_writes_nothing(org, manager_client):
    manager_client.post(
        "/app/customers/import/",
        {"file": upload(), "mode": "import", "all_or_nothing": "yes"},
    )
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 0


def test_missing_file_names_the_field(org, manager_client):
    manager_client.cookies["django_language"] = "en"
    response = manager_client.post("/app/customers/import/", {"mode": "check"})
    assert response.status_code == 400
    assert "file: choose a CSV file" in response.content.decode()


def test_counter_staff_cannot_import(org, counter_client):
    response = counter_client.post("/app/customers/import/", {"file": upload(), "mode": "import"})
    assert response.status_code == 403
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 0
