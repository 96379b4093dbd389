import pytest

from cueillette.core import tenancy
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer


def test_query_without_tenant_refuses(db):
    with pytest.raises(tenancy.NoTenantError):
        list(Customer.objects.all())


def test_queries_only_see_current_org(org, other_org):
    mine = CustomerFactory(organization=org)
    theirs = CustomerFactory(organization=other_org)
    with tenancy.tenant_context(org):
        assert list(Customer.objects.values_list("pk", flat=True)) == [mine.pk]
        with pytest.raises(Exception):
            tenancy.access(Customer, theirs.pk)


def test_saving_another_orgs_row_is_refused(org, other_org):
    theirs = CustomerFactory(organization=other_org)
    with tenancy.tenant_context(org), pytest.raises(tenancy.NoTenantError):
        theirs.save()
