"""Permissions live in the actions, whatever the door (docs/architecture.md, issue #11).

Every staff or API write action calls ``core.permissions.require(actor, Perm.X)`` first, with the
permission its page reserves it for. The table below calls each action directly:

* as a staff member of a role lacking the permission, and as an API key holding every scope
  but the ones granting it: refused (``Forbidden``) before anything is read or written;
* as the least role holding it, and as a key with a scope granting it (where there is one):
  the check lets it through (the call then fails on the placeholder arguments, which is the
  point: it got past ``require``). The apps' own tests drive the permitted calls with real rows.

``test_every_staff_action_checks_its_permission`` reads every ``services.py`` and fails when a
public function taking ``actor`` or ``who`` calls no permission check (``require``, or a
same-module function that does), except the few listed below with their reason.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cueillette.core.audit import Actor
from cueillette.core.errors import Forbidden
from cueillette.core.permissions import (
    ROLE_PERMS,
    SCOPE_PERMS,
    ApiScope,
    Perm,
    require,
    require_key_perm,
)

ROOT = Path(__file__).resolve().parents[1] / "cueillette"


class Reached(Exception):
    """A placeholder argument was used: the action got past its permission check."""


class Probe:
    """Stands for every argument but the actor; touching it means the check has passed."""

    def __getattr__(self, name: str) -> Any:
        raise Reached(name)

    def __str__(self) -> str:
        raise Reached("str")

    def __iter__(self) -> Any:
        raise Reached("iter")

    def __bool__(self) -> bool:
        raise Reached("bool")

    def __eq__(self, other: object) -> bool:
        raise Reached("eq")

    __hash__ = None  # type: ignore[assignment]


def _staff(role: str | None) -> Actor:
    return Actor(kind="staff", label=f"test {role}", role=role)


def _api(scopes: set[ApiScope] | frozenset[ApiScope]) -> Actor:
    return Actor.api("test key", [s.value for s in scopes])


# (module, function, permission, how the actor is passed: "actor" keyword, or "who" for the
# apps whose actions take an operator carrying the actor: events' Operator, messaging's Staff).
ACTIONS: list[tuple[str, str, Perm, str]] = [
    ("accounts.services", "update_organization", Perm.MANAGE_ORGANIZATION, "actor"),
    ("accounts.services", "invite_staff", Perm.MANAGE_STAFF, "actor"),
    ("accounts.services", "revoke_invitation", Perm.MANAGE_STAFF, "actor"),
    ("accounts.services", "change_role", Perm.MANAGE_STAFF, "actor"),
    ("accounts.services", "remove_member", Perm.MANAGE_STAFF, "actor"),
    ("apikeys.services", "create_api_key", Perm.MANAGE_API_KEYS, "actor"),
    ("apikeys.services", "revoke_api_key", Perm.MANAGE_API_KEYS, "actor"),
    ("customers.services", "set_wording", Perm.EDIT_WORDINGS, "actor"),
    ("customers.services", "create_customer_result", Perm.SERVE_CUSTOMERS, "actor"),
    ("customers.services", "update_customer_result", Perm.SERVE_CUSTOMERS, "actor"),
    ("customers.services", "merge_customers", Perm.MERGE_CUSTOMERS, "actor"),
    ("customers.services", "record_consent_result", Perm.SERVE_CUSTOMERS, "actor"),
    ("customers.services", "request_email_confirmation", Perm.SERVE_CUSTOMERS, "actor"),
    ("customers.services", "erase_customer", Perm.ERASE_CUSTOMERS, "actor"),
    ("customers.services", "log_export", Perm.EXPORT_BASE, "actor"),
    ("loyalty.services", "join_program", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.services", "leave_program", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.services", "record_purchase_result", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.services", "refund_purchase_result", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.services", "redeem", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.services", "adjust", Perm.ADJUST_POINTS, "actor"),
    ("loyalty.services", "undo_last", Perm.SERVE_CUSTOMERS, "actor"),
    ("loyalty.settings_services", "update_program", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "create_reward", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "update_reward", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "set_reward_active", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "delete_reward", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "create_tier", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "update_tier", Perm.MANAGE_PROGRAM, "actor"),
    ("loyalty.settings_services", "log_report_export", Perm.VIEW_LOYALTY_REPORTS, "actor"),
    ("referrals.services", "update_program", Perm.MANAGE_REFERRALS, "actor"),
    ("referrals.services", "record_referral", Perm.SERVE_CUSTOMERS, "actor"),
    ("referrals.services", "record_with_code", Perm.SERVE_CUSTOMERS, "actor"),
    ("referrals.services", "review", Perm.MANAGE_REFERRALS, "actor"),
    ("referrals.services", "reject", Perm.MANAGE_REFERRALS, "actor"),
    ("referrals.services", "thank", Perm.MANAGE_REFERRALS, "actor"),
    ("referrals.rewards", "confirm_manually", Perm.MANAGE_REFERRALS, "actor"),
    ("feedback.services", "update_settings", Perm.MANAGE_FEEDBACK, "actor"),
    ("feedback.services", "update_follow_up", Perm.MANAGE_FEEDBACK, "actor"),
    ("imports.services", "register_file", Perm.IMPORT_CUSTOMERS, "actor"),
    ("imports.services", "configure", Perm.IMPORT_CUSTOMERS, "actor"),
    ("imports.services", "start", Perm.IMPORT_CUSTOMERS, "actor"),
    ("insights.services", "update_settings", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "refresh", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "save_reason", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "save_change", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "attach_reason", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "clear_reason", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "link_change", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "add_note", Perm.MANAGE_INSIGHTS, "actor"),
    ("insights.services", "send_exit_survey", Perm.MANAGE_INSIGHTS, "actor"),
    ("webhooks.services", "create_endpoint", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "update_events", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "rotate_secret", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "pause", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "resume", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "replay", Perm.MANAGE_WEBHOOKS, "actor"),
    ("webhooks.services", "remove", Perm.MANAGE_WEBHOOKS, "actor"),
    ("events.services", "create_session", Perm.MANAGE_EVENTS, "who"),
    ("events.services", "create_series", Perm.MANAGE_EVENTS, "who"),
    ("events.services", "update_session", Perm.MANAGE_EVENTS, "who"),
    ("events.services", "cancel_session", Perm.MANAGE_EVENTS, "who"),
    ("events.services", "check_in", Perm.RUN_EVENTS, "who"),
    ("events.services", "walk_in", Perm.RUN_EVENTS, "who"),
    ("messaging.services", "save_segment", Perm.SEND_CAMPAIGNS, "who"),
    ("messaging.services", "save_campaign", Perm.SEND_CAMPAIGNS, "who"),
    ("messaging.services", "send_campaign", Perm.SEND_CAMPAIGNS, "who"),
    ("messaging.services", "cancel_campaign", Perm.SEND_CAMPAIGNS, "who"),
    ("messaging.services", "test_send", Perm.SEND_CAMPAIGNS, "who"),
    ("messaging.services", "update_pressure", Perm.MANAGE_MESSAGES, "who"),
    ("messaging.services", "update_automatic", Perm.MANAGE_MESSAGES, "who"),
    ("messaging.services", "lift_suppression", Perm.MANAGE_MESSAGES, "who"),
]

# A public function of a services.py taking ``actor`` or ``who`` that checks no permission,
# (module, function) -> why.
NO_CHECK: dict[tuple[str, str], str] = {
    ("community.services", "create_post"): "the customer's own post (public page, signed link)",
    ("community.services", "edit_post"): "the author edits their own post (signed link)",
    ("community.services", "publish_post"): "the author confirms their own post (signed link)",
    ("community.services", "customer_reply"): "the author replies in their own thread",
    ("community.services", "withdraw_post"): "the author withdraws their own post",
    ("community.services", "author_set_status"): "the author marks their own thread solved",
    ("loyalty.services", "credit_referral"): (
        "a consequence of a referral being confirmed, checked there (not a door)"
    ),
    ("loyalty.services", "take_back"): "a consequence of a refund or a rejection, checked there",
    ("loyalty.services", "credit_event"): "a consequence of an event check-in, checked there",
    ("loyalty.services", "last_undoable"): "a read: which entry this actor may undo, if any",
    ("messaging.services", "suppress"): (
        "only protects: adding an address to the do-not-send list is open to every door "
        "(bounces, an import's cleaned rows, the API route behind messaging:send); lifting "
        "one is checked (lift_suppression)"
    ),
}


def _call(module: str, func: str, how: str, actor: Actor, perms: frozenset[Perm]) -> None:
    import importlib

    fn: Callable[..., Any] = getattr(importlib.import_module(f"cueillette.{module}"), func)
    who: Any = actor
    if how == "who" and module.startswith("events"):
        from cueillette.events.services import Operator

        who = Operator(actor=actor, perms=perms)
    elif how == "who":
        from cueillette.messaging.services import Staff

        who = Staff(actor=actor, role=actor.role or actor.kind)
    kwargs: dict[str, Any] = {}
    args: list[Any] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == how:
            value: Any = who
        elif param.default is not inspect.Parameter.empty:
            continue
        else:
            value = Probe()
        if param.kind is param.KEYWORD_ONLY:
            kwargs[name] = value
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            args.append(value)
    fn(*args, **kwargs)


def _refused_role(perm: Perm) -> str | None:
    for role in ("counter", "manager"):
        if perm not in ROLE_PERMS[role]:
            return role
    return None


def _permitted_role(perm: Perm) -> str:
    return next(r for r in ("counter", "manager", "owner") if perm in ROLE_PERMS[r])


def _scopes_without(perm: Perm) -> frozenset[ApiScope]:
    return frozenset(s for s, perms in SCOPE_PERMS.items() if perm not in perms)


def _id(row: tuple[str, str, Perm, str]) -> str:
    return f"{row[0]}.{row[1]}"


@pytest.mark.django_db
@pytest.mark.parametrize("row", ACTIONS, ids=_id)
def test_an_action_refuses_a_role_or_key_without_its_permission(
    row: tuple[str, str, Perm, str], org: Any
) -> None:
    from cueillette.core.tenancy import tenant_context

    module, func, perm, how = row
    with tenant_context(org):
        role = _refused_role(perm)
        if role is not None:
            with pytest.raises(Forbidden):
                _call(module, func, how, _staff(role), ROLE_PERMS[role])
        with pytest.raises(Forbidden):
            _call(module, func, how, _staff(None), frozenset())
        scopes = _scopes_without(perm)
        with pytest.raises(Forbidden):
            _call(module, func, how, _api(scopes), frozenset())


@pytest.mark.django_db
@pytest.mark.parametrize("row", ACTIONS, ids=_id)
def test_an_action_lets_the_permitted_role_and_key_through(
    row: tuple[str, str, Perm, str], org: Any
) -> None:
    from cueillette.core.tenancy import tenant_context

    module, func, perm, how = row
    role = _permitted_role(perm)
    actors = [(_staff(role), ROLE_PERMS[role]), (Actor.system("test"), frozenset(Perm))]
    granting = {s for s, perms in SCOPE_PERMS.items() if perm in perms}
    if granting:
        actors.append((_api(granting), frozenset({perm})))
    for actor, perms in actors:
        with tenant_context(org):
            try:
                _call(module, func, how, actor, perms)
            except Forbidden as exc:  # pragma: no cover - the failure being tested for
                pytest.fail(f"{actor.kind} {actor.role or ''} refused: {exc}")
            except Exception:
                pass


def test_require_by_kind() -> None:
    require(Actor.system(), Perm.MANAGE_WEBHOOKS)
    require(_staff("owner"), Perm.MANAGE_WEBHOOKS)
    require(_api({ApiScope.FEEDBACK_MANAGE}), Perm.MANAGE_FEEDBACK)
    require(Actor.customer(), Perm.SERVE_CUSTOMERS, customer=True)
    for actor, perm in [
        (_staff("manager"), Perm.MANAGE_WEBHOOKS),
        (_staff(None), Perm.SERVE_CUSTOMERS),  # a staff actor without a role: fails closed
        (Actor.api("key"), Perm.SERVE_CUSTOMERS),  # a key actor without scopes: same
        (_api({ApiScope.FEEDBACK_READ}), Perm.MANAGE_FEEDBACK),
        (Actor.customer(), Perm.SERVE_CUSTOMERS),
    ]:
        with pytest.raises(Forbidden):
            require(actor, perm)
    with pytest.raises(Forbidden, match="feedback:manage"):
        require_key_perm(_api({ApiScope.FEEDBACK_READ}), Perm.MANAGE_FEEDBACK)


# --------------------------------------------------------------------------- the guard

CHECKS = {"require", "_require", "require_key_perm"}


def _calls(node: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            out.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return out


def _unchecked(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    checked: set[str] = {name for name, f in funcs.items() if _calls(f) & CHECKS}
    # A thin wrapper calling a checked function of the same module is checked.
    changed = True
    while changed:
        changed = False
        for name, f in funcs.items():
            if name not in checked and _calls(f) & checked:
                checked.add(name)
                changed = True
    out = []
    for name, f in funcs.items():
        if name.startswith("_") or name in checked:
            continue
        params = {a.arg for a in f.args.args + f.args.kwonlyargs}
        if params & {"actor", "who"}:
            out.append(name)
    return out


def test_every_staff_action_checks_its_permission() -> None:
    missing = []
    for path in sorted(ROOT.rglob("*services.py")):
        if "tests" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for name in _unchecked(path):
            if (module, name) not in NO_CHECK:
                missing.append(f"{module}.{name}")
    assert not missing, (
        "these actions take an actor but check no permission: call "
        "core.permissions.require(actor, Perm.X) first, or list them in NO_CHECK with why: "
        + ", ".join(missing)
    )


def test_the_allow_list_names_real_unchecked_functions() -> None:
    stale = []
    for module, name in NO_CHECK:
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        if name not in _unchecked(path):
            stale.append(f"{module}.{name}")
    assert not stale, f"NO_CHECK lists functions that now check or are gone: {stale}"
