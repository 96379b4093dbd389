"""Existing keys keep what they could do: a "read" key gets every read permission, a "write"
key every permission (before permissions, a write key could call every route).

The lists are frozen here as they were when permissions were introduced; permissions added
later are not given to old keys.
"""

from django.db import migrations

READ = [
    "community:read",
    "customers:read",
    "feedback:read",
    "loyalty:read",
    "referrals:read",
]
WRITE = sorted(
    READ
    + [
        "community:moderate",
        "community:reply",
        "consents:write",
        "customers:merge",
        "customers:write",
        "feedback:manage",
        "loyalty:write",
        "referrals:manage",
        "referrals:write",
    ]
)


def forwards(apps, schema_editor):
    ApiKey = apps.get_model("core", "ApiKey")
    # Historical models have a plain manager: every organization's keys.
    ApiKey.objects.filter(scope="write").update(scopes=WRITE)
    ApiKey.objects.exclude(scope="write").update(scopes=READ)


def backwards(apps, schema_editor):
    ApiKey = apps.get_model("core", "ApiKey")
    for key in ApiKey.objects.all():
        writes = any(not s.endswith(":read") for s in key.scopes or [])
        key.scope = "write" if writes else "read"
        key.save(update_fields=["scope"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_apikey_scopes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
