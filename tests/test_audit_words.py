"""Every event of the activity log reads as a sentence, in French and in English.

The first tests read the code itself: every ``audit.record(actor, "<action>", ..., key=...)``
call in ``cueillette/`` must have its action in ``core.audit_words.ACTIONS`` and each data
key worded (a sentence of its own or a label in ``KEY_LABELS``). A new event type without
words fails here. The last ones read the pages: the log and the dashboard show sentences,
never codes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from cueillette.accounts.models import User
from cueillette.core import audit, audit_words, tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.customers import services as customer_services

ROOT = Path(__file__).resolve().parent.parent / "cueillette"


def _record_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                calls.append((f"{path.relative_to(ROOT.parent)}:{node.lineno}", node))
    return calls


def _actions_of(node: ast.expr) -> list[str | re.Pattern[str]]:
    """The action codes an argument can take: literals, both sides of a conditional, and a
    pattern for an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _actions_of(node.body) + _actions_of(node.orelse)
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(v.value) if isinstance(v, ast.Constant) else r"[a-z_]+" for v in node.values
        ]
        return [re.compile("^" + "".join(parts) + "$")]
    raise AssertionError(f"an action code the test cannot read: {ast.unparse(node)}")


CALLS = _record_calls()


def test_the_code_records_events() -> None:
    assert len(CALLS) > 60


@pytest.mark.parametrize(("where", "call"), CALLS, ids=[w for w, _c in CALLS])
def test_every_recorded_action_has_words(where: str, call: ast.Call) -> None:
    assert len(call.args) >= 2, f"{where}: audit.record(actor, action, ...) expected"
    for action in _actions_of(call.args[1]):
        if isinstance(action, str):
            assert action in audit_words.ACTIONS, (
                f"{where}: no sentence for {action!r}: add it in cueillette/core/audit_words.py"
            )
        else:
            assert any(action.match(a) for a in audit_words.ACTIONS), (where, action.pattern)


@pytest.mark.parametrize(("where", "call"), CALLS, ids=[w for w, _c in CALLS])
def test_every_data_key_is_worded(where: str, call: ast.Call) -> None:
    keys = [k.arg for k in call.keywords if k.arg not in (None, "object_type", "object_id")]
    for key in keys:
        assert key in audit_words.KEY_LABELS, (
            f"{where}: data key {key!r} has no label in audit_words.KEY_LABELS"
        )


def test_every_label_is_translated_to_french() -> None:
    missing = []
    with translation.override("fr"):
        for action, found in audit_words.ACTIONS.items():
            with translation.override("en"):
                english = str(found.label)
            if str(found.label) == english:
                missing.append(action)
        for key, (label, _fmt) in audit_words.KEY_LABELS.items():
            with translation.override("en"):
                english = str(label)
            # A few labels read the same in both languages.
            if str(label) == english and english not in {
                "code",
                "notes",
                "version",
                "format",
                "formats",
                "cause",
                "note",
                "invitation",
                "points",
                "stock",
            }:
                missing.append(key)
    assert not missing, f"no French for: {missing}"


# --------------------------------------------------------------------------- through the pages


@pytest.mark.django_db
def test_the_log_and_the_dashboard_speak_in_sentences(
    org: Organization, owner: User, counter: User, owner_client: Client, customer
) -> None:
    counter.full_name = "Léa Martin"
    counter.save()
    with tenancy.tenant_context(org):
        customer_services.record_consent(
            customer, "loyalty", True, source="counter", actor=Actor.staff(counter, "counter")
        )
        audit.record(
            Actor.staff(owner, "owner"),
            "community.status_changed",
            object_type="post",
            object_id=7,
            before="open",
            after="resolved",
        )
        audit.record(Actor.api("Caisse 1"), "customer.updated", customer, fields=["email"])
        audit.record(
            Actor.system("erasure"),
            "community.settings_updated",
            object_type="communitysettings",
            object_id=1,
            changed=["digest_enabled"],
        )
        audit.record(
            Actor.customer("customer space"),
            "community.post_hidden",
            object_type="post",
            object_id=3,
            reason="hate",
        )

    for lang, expected in {
        "en": [
            "Léa Martin (counter staff)",
            "Consent recorded",
            "Agreed to “Loyalty program” (At the counter), text version 1.",
            "Status changed from “Open” to “Resolved”.",
            "API key «Caisse 1»",
            "changed: email",
            "Community page settings",
            "the system (erasure)",
            "the customer themselves (in their space)",
            "Hidden for this reason: Hate.",
            "Community post #7",
        ],
        "fr": [
            "Léa Martin (personnel du comptoir)",
            "Consentement enregistré",
            "Clé d'API «\u00a0Caisse 1\u00a0»",
            "Réglages de la page communauté",
            "le système (effacement)",
            "le client lui-même (dans son espace)",
            "Message de la communauté n°\u00a07",
        ],
    }.items():
        page = owner_client.get("/app/customers/audit/", HTTP_ACCEPT_LANGUAGE=lang)
        html = page.content.decode()
        for sentence in expected:
            assert sentence.replace("'", "&#x27;") in html, (lang, sentence)
        # No raw codes: action codes, model names, "before:"/"after:" keys.
        text = re.sub(r'data-action="[^"]*"|value="[^"]*"', "", html)
        for raw in (
            "community.status_changed",
            "consent.granted",
            "communitysettings",
            "before:",
            "after:",
            "customer (customer)",
            "(api)",
            "(system)",
        ):
            assert raw not in text, (lang, raw)

    home = owner_client.get("/app/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Léa Martin (counter staff) — Consent recorded" in home
    assert "community.post_hidden" not in re.sub(r'data-action="[^"]*"', "", home)


@pytest.mark.django_db
def test_an_event_recorded_before_its_words_existed_still_reads(
    org: Organization, owner_client: Client
) -> None:
    with tenancy.tenant_context(org):
        AuditEvent.objects.create(
            organization=org,
            actor_kind="system",
            action="someday.new_thing",
            object_type="gizmo_part",
            object_id="4",
            data={"some_key": ["a", "b"]},
        )
    html = owner_client.get("/app/customers/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "gizmo part #4" in html and "some key: a, b" in html
