"""``{% staff_menu as items %}``: the staff menu items (see cueillette.web.menu)."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.web import menu

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_menu(context: dict[str, Any]) -> list[menu.Item]:
    request = context.get("request")
    return menu.staff_menu(request) if request is not None else []


@register.simple_tag
def phone_bar_size() -> int:
    return menu.PHONE_BAR_SIZE
