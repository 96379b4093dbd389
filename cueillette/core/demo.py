"""Where apps register their demo data (``make demo``); core imports no domain app.

The demo businesses, their staff and customers come from ``customers.demo`` (``manage.py
load_demo``); then every registered loader adds its app's history for each business, in the
order the apps were registered (``INSTALLED_APPS`` order, since apps register in
``AppConfig.ready()``): ``demo.register(load)`` where ``load(org, customers, rng, now)``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from cueillette.core.models import Organization

Loader = Callable[[Organization, list[dict[str, Any]], random.Random, dt.datetime], None]

_loaders: list[Loader] = []


def register(load: Loader) -> Loader:
    """Add an app's demo loader; registering it twice is a no-op."""
    if load not in _loaders:
        _loaders.append(load)
    return load


def loaders() -> list[Loader]:
    return list(_loaders)
