"""Words for the segments and figures, in the reader's language (one place for pages and API)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cueillette.insights.rfm import Segment

SEGMENT_LABELS: dict[str, Promise] = {
    Segment.CHAMPIONS: _("Champions"),
    Segment.LOYAL: _("Loyal"),
    Segment.NEW: _("New"),
    Segment.PROMISING: _("Promising"),
    Segment.NEED_ATTENTION: _("Need attention"),
    Segment.AT_RISK: _("At risk"),
    Segment.CANT_LOSE: _("Can't lose them"),
    Segment.HIBERNATING: _("Hibernating"),
    Segment.LOST: _("Lost"),
}

SEGMENT_HELP: dict[str, Promise] = {
    Segment.CHAMPIONS: _("Came lately, come often and spend the most."),
    Segment.LOYAL: _("Come often and spend well; seen recently or fairly recently."),
    Segment.NEW: _("First purchases lately: make them want to come back."),
    Segment.PROMISING: _("Came lately, not yet often: they could become loyal."),
    Segment.NEED_ATTENTION: _("Neither recent nor frequent: a word from you could help."),
    Segment.AT_RISK: _("Used to come fairly often, not seen for a while."),
    Segment.CANT_LOSE: _("Among your best customers, but not seen for a long time."),
    Segment.HIBERNATING: _("Came rarely and not lately."),
    Segment.LOST: _("Came rarely, long ago."),
}


def segment_label(code: str) -> str:
    return str(SEGMENT_LABELS.get(code, code))
