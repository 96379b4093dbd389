"""Name search at the counter on PostgreSQL (issue 16): one partial, covering btree index per
name key, in the order ``customers.queries.search`` reads it.

Each name branch of the search is ``organization = ? AND status = 'active' AND key >= prefix
AND key < next(prefix) ORDER BY key, other key, id LIMIT 50`` reading only the keys and the
id: on ``(organization, search_last, search_first, id) WHERE status = 'active'`` that is an
index-only range scan stopped by the LIMIT (no heap visit for the status, no sort). The
existing ``(organization, search_last)`` indexes stay for the other readers.

PostgreSQL only: the SQLite embedded install keeps its plain indexes (measured fast enough
there), so this migration is a no-op on SQLite.
"""

from typing import Any

from django.db import migrations

INDEXES = {
    "customer_active_last_first": ("search_last", "search_first"),
    "customer_active_first_last": ("search_first", "search_last"),
}


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    for name, (a, b) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q('customers_customer')} "
            f"({q('organization_id')}, {q(a)}, {q(b)}, {q('id')}) WHERE {q('status')} = 'active'"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_source_unsubscribe_link")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
