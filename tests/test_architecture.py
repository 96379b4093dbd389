"""The shape every app copies, checked on the source (docs/architecture.md).

* Views and API handlers only translate (parse, ``access()``, call one action or query,
  render): no transaction, no row lock, no ORM write in ``views*.py`` / ``api.py``.
* Core is the ground: it imports no domain app (apps register into core's registries).
* No import cycle between apps at module level: a later app depends on earlier ones, never
  the reverse (it subscribes to their consequences instead).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "cueillette"
APPS = sorted(p.name for p in ROOT.iterdir() if (p / "apps.py").exists())

# Writes on a queryset or manager (``X.objects....create()``, ``qs.filter(...).update()``).
QUERYSET_WRITES = {
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}
QUERYSET_HINTS = (".objects", ".filter(", ".exclude(", ".all(", "_set.")
# core/transactions.py's wrappers of transaction.atomic and core/rawsql.py's inserts count
# as what they wrap: moving a write behind a helper does not take it out of the guard.
TRANSACTION_HELPERS = {"all_or_nothing", "action_atomic"}
RAW_WRITES = {"insert_rows", "insert_sql"}

# (file, what) -> why it stays.
ALLOWED_IN_HANDLERS: dict[tuple[str, str], str] = {
    ("api.py", "transaction.atomic"): (
        "the API framework itself: one transaction per write request, so an Idempotency-Key "
        "stores its answer with the action it answers (not a use case)"
    ),
    ("api.py", ".update"): "the key authentication stamps last_used_at (framework, not a use case)",
    ("api.py", ".create"): (
        "the Idempotency-Key record (one raw insert on the till's hot path), in the request's "
        "transaction (framework)"
    ),
    ("public/views.py", ".save"): "segno writes the poster's QR code into a memory buffer",
    ("referrals/views_public.py", ".save"): "segno writes a QR code into a memory buffer",
}

# (from app, to app) -> why the module-level import stays.
ALLOWED_CYCLES: dict[tuple[str, str], str] = {
    ("customers", "referrals"): (
        "the counter registration page embeds referrals' 'who sent you?' field (its parsing "
        "and live list, referrals/counter.py); the referral itself is recorded by a "
        "CUSTOMER_JOINED subscriber. Inverting the widget needs a registry of registration "
        "fields, not done yet"
    ),
}


def _py_files(base: Path) -> list[Path]:
    return sorted(
        p for p in base.rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts
    )


def _handler_files() -> list[Path]:
    return [p for p in _py_files(ROOT) if p.name.startswith("views") or p.name == "api.py"]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def handler_violations(path: Path) -> list[tuple[str, int, str]]:
    """(what, line, code) of every transaction, lock or ORM write in a view/API module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            text = ast.unparse(node)
            if (node.attr == "atomic" and text.endswith("transaction.atomic")) or (
                node.attr in TRANSACTION_HELPERS and text.startswith("transactions.")
            ):
                found.append(("transaction.atomic", node.lineno, text))
            elif node.attr == "select_for_update":
                found.append(("select_for_update", node.lineno, text))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        receiver = ast.unparse(node.func.value)
        if method in RAW_WRITES and receiver == "rawsql":
            found.append((".create", node.lineno, ast.unparse(node)[:80]))
        elif method == "save":
            found.append((".save", node.lineno, ast.unparse(node)[:80]))
        elif method in QUERYSET_WRITES and (
            any(hint in receiver + "(" for hint in QUERYSET_HINTS) or method == "bulk_create"
        ):
            found.append((f".{method}", node.lineno, ast.unparse(node)[:80]))
    return found


def test_views_and_api_handlers_only_translate() -> None:
    problems = []
    for path in _handler_files():
        rel = _rel(path)
        for what, line, code in handler_violations(path):
            if (rel, what) in ALLOWED_IN_HANDLERS:
                continue
            problems.append(f"{rel}:{line}: {what} ({code}): move it into the app's services")
    assert not problems, "\n".join(problems)


def test_the_guard_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "views.py"
    sample.write_text(
        "from django.db import transaction\n"
        "def v(request, form, pk):\n"
        "    with transaction.atomic():\n"
        "        Card.objects.select_for_update().get(pk=pk)\n"
        "        Card.objects.filter(pk=pk).update(balance=0)\n"
        "        Card.objects.create(number='1')\n"
        "        form.save()\n"
        "    with transactions.all_or_nothing():\n"
        "        rawsql.insert_rows(Card, [])\n"
        "    context = {}\n"
        "    context.update(a=1)\n"  # a dict: not a write
    )
    kinds = [what for what, _line, _code in handler_violations(sample)]
    direct = ["transaction.atomic", "select_for_update", ".update", ".create", ".save"]
    through_core_helpers = ["transaction.atomic", ".create"]
    assert sorted(kinds) == sorted([*direct, *through_core_helpers])


def test_every_allowance_still_matters() -> None:
    """An allowance whose code is gone must go too (the list stays short and true)."""
    seen = {(_rel(p), what) for p in _handler_files() for what, _l, _c in handler_violations(p)}
    stale = [key for key in ALLOWED_IN_HANDLERS if key not in seen]
    assert not stale, stale


def _imports(tree: ast.Module, *, top_level_only: bool) -> list[tuple[str, int]]:
    """Imported module names (``from a import b`` gives ``a`` and ``a.b``), TYPE_CHECKING
    blocks left out (annotations only)."""
    out: list[tuple[str, int]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                out.extend((a.name, node.lineno) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                out.append((node.module, node.lineno))
                out.extend((f"{node.module}.{a.name}", node.lineno) for a in node.names)
            elif not top_level_only:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit([n for n in getattr(node, field, []) if isinstance(n, ast.stmt)])

    visit(tree.body)
    return out


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "cueillette" and parts[1] in APPS:
        return parts[1]
    return None


def test_core_imports_no_domain_app() -> None:
    """Even inside functions: core offers registries (consequences, scheduling, demo) and
    the domain apps fill them. ``accounts`` (staff users and memberships: who may act, the
    staff door's organization) is the platform below the domain apps: the middleware reads
    memberships from it, the activity log names staff members."""
    problems = []
    for path in _py_files(ROOT / "core"):
        for module, line in _imports(ast.parse(path.read_text()), top_level_only=False):
            app = _app_of(module)
            if app is None or app == "core":
                continue
            if app == "accounts":
                continue
            problems.append(f"{_rel(path)}:{line}: imports {module}")
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_apps() -> None:
    edges: dict[str, dict[str, str]] = defaultdict(dict)
    for app in APPS:
        for path in _py_files(ROOT / app):
            for module, line in _imports(ast.parse(path.read_text()), top_level_only=True):
                other = _app_of(module)
                if other is not None and other != app and other not in edges[app]:
                    edges[app][other] = f"{_rel(path)}:{line}"
    cycles = []
    for a in APPS:
        for b in edges[a]:
            if a < b and a in edges.get(b, {}):
                if (a, b) in ALLOWED_CYCLES or (b, a) in ALLOWED_CYCLES:
                    continue
                cycles.append(f"{a} -> {b} ({edges[a][b]}) and {b} -> {a} ({edges[b][a]})")
    assert not cycles, "\n".join(cycles)
    # Longer cycles too: the apps must be orderable, lowest first.
    remaining = {a: set(edges[a]) for a in APPS}
    for a, b in ALLOWED_CYCLES:
        remaining[a].discard(b)
    order = []
    while remaining:
        ready = sorted(a for a, deps in remaining.items() if not deps & remaining.keys())
        assert ready, f"import cycle among {sorted(remaining)}"
        order.extend(ready)
        for a in ready:
            del remaining[a]
    assert order[0] == "core" or "core" in order[: len(order) // 2]


# --------------------------------------------------------------------------- typed inputs

# (module, function, parameter) -> why it still takes a raw mapping.
ALLOWED_RAW_INPUTS: dict[tuple[str, str, str], str] = {
    ("customers.services", "record_consent_result", "evidence"): (
        "evidence is a free-form JSON blob stored as is with the consent entry (who asked, "
        "from where), not an input the action interprets"
    ),
}


def _raw_inputs(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        args = node.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            text = ast.unparse(arg.annotation).replace(" ", "") if arg.annotation else ""
            if "Mapping[str,Any]" in text or "dict[str,Any]" in text:
                found.append((node.name, arg.arg))
    return found


def test_actions_take_typed_inputs() -> None:
    """No public function of a services module takes a raw ``Mapping[str, Any]``: an action's
    input is one frozen dataclass (``core.inputs``), built by the form and the API schema."""
    raw = []
    for path in _py_files(ROOT):
        if not path.name.endswith("services.py"):
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for func, arg in _raw_inputs(path):
            if (module, func, arg) not in ALLOWED_RAW_INPUTS:
                raw.append(f"{module}.{func}({arg})")
    assert not raw, f"give these a typed input (or allow them with a reason): {raw}"


def test_every_raw_input_allowance_still_matters() -> None:
    stale = []
    for module, func, arg in ALLOWED_RAW_INPUTS:
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        if (func, arg) not in _raw_inputs(path):
            stale.append(f"{module}.{func}({arg})")
    assert not stale, f"no longer raw, drop from ALLOWED_RAW_INPUTS: {stale}"
