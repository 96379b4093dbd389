import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cueillette.core import tasks
from cueillette.core.models import IdempotencyRecord
from cueillette.core.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def _record(key: str, age_days: float) -> IdempotencyRecord:
    rec = IdempotencyRecord.objects.create(
        key=key, scope="POST /x", request_hash="h", status_code=201, response_body="{}"
    )
    IdempotencyRecord.objects.filter(pk=rec.pk).update(
        created_at=timezone.now() - dt.timedelta(days=age_days)
    )
    return rec


def test_old_idempotency_records_are_purged_recent_ones_kept(org, other_org):
    with tenant_context(org):
        old = _record("old", tasks.IDEMPOTENCY_KEEP_DAYS + 1)
        recent = _record("recent", tasks.IDEMPOTENCY_KEEP_DAYS - 1)
    with tenant_context(other_org):
        foreign_old = _record("old", tasks.IDEMPOTENCY_KEEP_DAYS + 5)

    assert tasks.purge_idempotency(org) == 1

    with tenant_context(org):
        keys = set(IdempotencyRecord.objects.values_list("key", flat=True))
    assert keys == {"recent"}
    assert old.key not in keys and recent.key in keys
    # Another organization's rows are untouched by this organization's pass.
    with tenant_context(other_org):
        assert IdempotencyRecord.objects.filter(pk=foreign_old.pk).exists()


def test_scheduler_runs_the_purge_for_every_organization(org, other_org):
    with tenant_context(org):
        _record("a", 40)
    with tenant_context(other_org):
        _record("b", 40)
    out = StringIO()
    call_command("run_scheduler", "--once", "--inline", stdout=out)
    assert "idempotency_purged" in out.getvalue()
    for o in (org, other_org):
        with tenant_context(o):
            assert not IdempotencyRecord.objects.exists()
