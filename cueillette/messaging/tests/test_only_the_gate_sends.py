"""Nothing outside the send gate's delivery module talks to a mail or SMS backend."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # cueillette/
ALLOWED = {ROOT / "messaging" / "delivery.py"}
# The SMS module defines the backends; only delivery calls them.
DEFINES = {ROOT / "messaging" / "sms.py"}
FORBIDDEN_NAMES = {
    "get_connection",
    "send_mail",
    "send_mass_mail",
    "mail_admins",
    "mail_managers",
    "get_backend",
}


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("django.core.mail")
        ):
            for alias in node.names:
                if alias.name in FORBIDDEN_NAMES:
                    found.append(f"{path}:{node.lineno} imports {alias.name}")
        if isinstance(node, ast.Attribute) and node.attr in (
            "send_messages",
            "send_mail",
            "send_mass_mail",
            "get_connection",
        ):
            found.append(f"{path}:{node.lineno} calls .{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "send"
        ):
            # message.send() on an EmailMessage / EmailMultiAlternatives
            inner = node.func.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and "Email" in inner.func.id
            ):
                found.append(f"{path}:{node.lineno} EmailMessage(...).send()")
            if isinstance(inner, ast.Name) and inner.id in ("message", "msg", "email", "mail"):
                found.append(f"{path}:{node.lineno} {inner.id}.send()")
        if isinstance(node, ast.Name) and node.id in (
            "get_connection",
            "send_mail",
            "send_mass_mail",
        ):
            found.append(f"{path}:{node.lineno} uses {node.id}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "get_backend"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sms"
        ):
            found.append(f"{path}:{node.lineno} uses the SMS backend")
    return found


def test_only_the_delivery_module_calls_a_backend() -> None:
    bad = []
    for path in ROOT.rglob("*.py"):
        if (
            path in ALLOWED
            or path in DEFINES
            or "/tests/" in str(path)
            or "/migrations/" in str(path)
        ):
            continue
        bad += offences(path)
    assert bad == []
    assert offences(ROOT / "messaging" / "delivery.py"), "the check must see the real sender"


def test_the_check_catches_a_direct_send(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from django.core.mail import EmailMessage, send_mail\n"
        "send_mail('s', 'b', 'a@x', ['b@x'])\n"
        "EmailMessage('s', 'b', 'a@x', ['b@x']).send()\n"
    )
    assert len(offences(sneaky)) >= 3
