"""Fixtures shared by every test.

Emails: services send them with ``transaction.on_commit``. Inside an ordinary (transaction-
wrapped) test, wrap the action in ``django_capture_on_commit_callbacks(execute=True)`` to
deliver them; ``mailoutbox`` (pytest-django) then holds them. ``smtp_server`` switches Django
to a real SMTP exchange with an aiosmtpd server on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, settings

from cueillette.accounts.models import Role, User
from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

# Property tests judge behaviour, not speed: a loaded CI machine must not fail them on time
# (speed has its benchmarks under bench/). Each test still sets its own number of examples.
settings.register_profile("cueillette", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cueillette")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, pytest-xdist puts a module marked ``xdist_group("name")``
    on one worker by appending ``@name`` to its tests' ids; the demo and the kill-resume
    template are built once per run only if it did. A pytest or xdist upgrade broke that once
    without a word (pytest 9.2), so refuse to run rather than silently build them twice."""
    if not getattr(config.option, "loadgroup", False):
        return
    ignored = [
        item.nodeid
        for item in items
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid
    ]
    if ignored:
        raise pytest.UsageError(
            "--dist loadgroup: pytest-xdist did not group these tests (check the pytest and "
            f"pytest-xdist versions in pyproject.toml): {ignored[:3]}"
        )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Name the random order's seed at the end (``-q`` hides pytest-randomly's header line), so
    that a failure seen once can be replayed: same seed, same order, same generated names."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and config.pluginmanager.hasplugin("randomly"):
        terminalreporter.write_line(
            f"random order: --randomly-seed={seed} (pass it to pytest, or SEED={seed} to make, "
            "to replay this order and these generated names)"
        )


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(name="Cabinet Lumière", slug="cabinet-lumiere")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(name="Épicerie Voisine", slug="epicerie-voisine")


@pytest.fixture
def tenant(org: Organization) -> Iterator[Organization]:
    """Make ``org`` the current organization for direct service calls."""
    with tenancy.tenant_context(org):
        yield org


def _member(org: Organization, role: str) -> User:
    user = UserFactory()
    MembershipFactory(organization=org, user=user, role=role)
    return user


@pytest.fixture
def owner(org: Organization) -> User:
    return _member(org, Role.OWNER)


@pytest.fixture
def manager(org: Organization) -> User:
    return _member(org, Role.MANAGER)


@pytest.fixture
def counter(org: Organization) -> User:
    return _member(org, Role.COUNTER)


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make


@pytest.fixture
def owner_client(owner: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(owner)


@pytest.fixture
def manager_client(manager: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(manager)


@pytest.fixture
def counter_client(counter: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(counter)


@pytest.fixture
def customer(org: Organization) -> Any:
    return CustomerFactory(organization=org)


# --------------------------------------------------------------------------- real SMTP


class _Sink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


class SmtpServer:
    def __init__(self, sink: _Sink, port: int) -> None:
        self.sink = sink
        self.port = port

    @property
    def messages(self) -> list[Message]:
        return self.sink.messages

    def wait_for(self, count: int = 1, timeout: float = 20.0) -> list[Message]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.sink.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.sink.messages) >= count, (
            f"expected {count} emails, got {len(self.messages)}"
        )
        return self.sink.messages

    @staticmethod
    def body(msg: Message, subtype: str = "plain") -> str:
        for part in msg.walk():
            if part.get_content_type() == f"text/{subtype}":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError(f"no text/{subtype} part")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; Django's SMTP backend delivers to it."""
    from aiosmtpd.controller import Controller

    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield SmtpServer(sink, port)
    finally:
        controller.stop()
