from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_apikey_scopes_from_scope"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="apikey",
            name="scope",
        ),
    ]
