"""A killed import leaves either nothing or a resumable import: never duplicates or half rows.

The import runs in a real process (``manage.py import_customers``) that is killed: once
abruptly right after a batch commits (``os._exit``, as a SIGKILL would), once with a real
SIGKILL at an arbitrary moment. Running the command again resumes from the last committed
row; the base then holds each person once, with each consent entry once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from cueillette.core import tenancy
from cueillette.core.tests.factories import OrganizationFactory
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.imports.models import Import

ROOT = Path(settings.BASE_DIR)
N = 3000
# One worker runs both tests, so the SQLite template is migrated once per run.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("kill-resume")]


def write_file(path: Path) -> Path:
    lines = ["Prénom;Nom;Courriel;Portable;consent_loyalty"]
    for i in range(N):
        lines.append(f"Client{i};Nom{i};client{i}@example.org;06{i:08d};oui")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    return path


def _child_env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    e["DJANGO_SETTINGS_MODULE"] = "config.settings"
    e["CUEILLETTE_FAST_HASHER"] = "1"
    e["CUEILLETTE_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    return e


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite file, migrated once for the module (a few seconds each)."""
    db = tmp_path_factory.mktemp("kill") / "template.sqlite3"
    e = _child_env()
    e.pop("DATABASE_URL", None)
    e["CUEILLETTE_SQLITE_PATH"] = str(db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=e, check=True)
    return db


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    e = _child_env()
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        e["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    else:
        # The test database lives in memory: the child process gets a file of its own, a copy
        # of the module's migrated template.
        db = tmp_path / "kill.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), db)
        e.pop("DATABASE_URL", None)
        e["CUEILLETTE_SQLITE_PATH"] = str(db)
    return e


def cli(env: dict[str, str], slug: str, path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "import_customers",
            slug,
            str(path),
            "--quiet",
            "--batch-size",
            "200",
            "--consent-basis",
            "paper",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def counts_in_child(env: dict[str, str], slug: str) -> tuple[int, int, int, int]:
    code = (
        "from cueillette.core.models import Organization as O;"
        "from cueillette.core.tenancy import tenant_context as t;"
        "from cueillette.customers.models import Customer as C, ConsentEvent as E;"
        "from django.db.models import Count;"
        f"o=O.objects.get(slug='{slug}');"
        "ctx=t(o); ctx.__enter__();"
        "dup=C.objects.values('email').annotate(n=Count('id')).filter(n__gt=1).count();"
        "print(C.objects.count(), E.objects.count(), dup, C.objects.filter(first_name='').count())"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    a, b, c, d = (int(x) for x in out.stdout.split()[-4:])
    return a, b, c, d


def make_org(env: dict[str, str], slug: str) -> None:
    if connection.vendor == "postgresql":
        OrganizationFactory(slug=slug, name="Coupure")
        return
    code = f"from cueillette.core.tests.factories import OrganizationFactory as F; F(slug='{slug}', name='Coupure')"  # noqa: E501
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True
    )


def test_exit_after_batches_then_resume(env: dict[str, str], tmp_path: Path) -> None:
    make_org(env, "coupure")
    path = write_file(tmp_path / "clients.csv")
    first = cli(env, "coupure", path, "--stop-after-batches", "4")
    first.communicate(timeout=300)
    assert first.returncode == 137
    assert counts_in_child(env, "coupure") == (800, 800, 0, 0)
    second = cli(env, "coupure", path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "resuming import" in err
    # The summary is the whole import's, both runs together.
    assert out.strip().splitlines()[-1].startswith(f"rows={N} created={N} ")
    assert counts_in_child(env, "coupure") == (N, N, 0, 0)
    # And once more: the same file changes nothing.
    third = cli(env, "coupure", path)
    out, _err = third.communicate(timeout=300)
    assert " created=0 " in out.strip().splitlines()[-1]
    assert counts_in_child(env, "coupure") == (N, N, 0, 0)


def test_sigkill_anywhere_then_resume(env: dict[str, str], tmp_path: Path) -> None:
    make_org(env, "coupure")
    path = write_file(tmp_path / "clients.csv")
    proc = cli(env, "coupure", path)
    deadline = time.monotonic() + 120
    # Kill as soon as some rows are committed (mid-file, possibly inside a batch).
    while time.monotonic() < deadline:
        customers = counts_in_child(env, "coupure")[0]
        if customers > 0 or proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    partial, entries, dups, half = counts_in_child(env, "coupure")
    assert partial == entries and dups == 0 and half == 0  # whole batches only
    again = cli(env, "coupure", path)
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert counts_in_child(env, "coupure") == (N, N, 0, 0)


def test_resumable_import_is_found_by_file_hash(org: Any, tmp_path: Path) -> None:
    # Same rule in-process: an interrupted import of this file is the one that continues.
    from cueillette.imports import services

    path = write_file(tmp_path / "clients.csv")
    with tenancy.tenant_context(org):
        from cueillette.core.audit import Actor

        imp = services.register_file(
            path, filename="clients.csv", kind="customers", actor=Actor.system(), copy=False
        )

        class Stop(Exception):
            pass

        def stop(n: int) -> None:
            if n == 2:
                raise Stop

        with pytest.raises(Stop):
            services.process(imp.pk, dry_run=False, batch_size=500, after_batch=stop)
        imp.refresh_from_db()
        assert imp.processed_rows == 1000
        assert services.resumable("customers", imp.file_hash) == imp
        done = services.process(imp.pk, dry_run=False, batch_size=500)
        assert done.counts["created"] == N and Customer.objects.count() == N
        assert not ConsentEvent.objects.exists()  # no basis stated: no consent
        assert Import.objects.get(pk=imp.pk).status == "done"
