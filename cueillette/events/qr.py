"""The QR code of a registration, for the door's scanner (segno, SVG, no third party)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _


def registration_svg(value: str) -> str:
    import segno

    buf = io.BytesIO()
    segno.make(value, error="m").save(
        buf,
        kind="svg",
        scale=6,
        border=2,
        xmldecl=False,
        omitsize=True,
        title=_("QR code of your registration"),
    )
    return buf.getvalue().decode("utf-8")
