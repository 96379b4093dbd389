from cueillette.core import tenancy
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer, CustomerStatus


def test_manager_erases_on_request(org, manager_client):
    c = CustomerFactory(organization=org, first_name="Zoé", last_name="Unique", email="zoe@ex.fr")
    url = f"/app/customers/{c.pk}/erase/"
    assert manager_client.get(url).status_code == 200
    # Without the confirmation tick nothing happens.
    assert manager_client.post(url, {}).status_code == 400
    with tenancy.tenant_context(org):
        assert Customer.objects.get(pk=c.pk).email == "zoe@ex.fr"
    response = manager_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        erased = Customer.objects.get(pk=c.pk)
        assert erased.status == CustomerStatus.ERASED
        assert erased.email == "" and erased.last_name == ""
        event = AuditEvent.objects.get(action="customer.erased")
        assert event.data["reason"] == "staff"
        assert "zoe" not in str(event.data).lower()
    # An erased record cannot be erased again.
    assert manager_client.get(url).status_code == 404


def test_counter_cannot_erase(org, counter_client):
    c = CustomerFactory(organization=org)
    assert (
        counter_client.post(f"/app/customers/{c.pk}/erase/", {"confirm": "yes"}).status_code == 403
    )
    with tenancy.tenant_context(org):
        assert Customer.objects.get(pk=c.pk).status == CustomerStatus.ACTIVE
