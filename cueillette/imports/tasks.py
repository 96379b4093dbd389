"""Background imports: the page queues a check or an import; the worker runs it in batches."""

from __future__ import annotations

from django_tasks import task

from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.imports import services


@task()
def run_import(import_id: int, org_id: int, dry_run: bool) -> dict[str, int]:
    org = Organization.objects.get(pk=org_id)
    with tenant_context(org):
        imp = services.process(import_id, dry_run=dry_run)
        return dict(imp.check_counts if dry_run else imp.counts)
