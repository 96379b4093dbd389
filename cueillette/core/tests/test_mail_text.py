"""Plain-text parts of emails are not HTML: no entity escaping in subjects and text bodies."""

from types import SimpleNamespace

from cueillette.core.mail import render_email


def test_text_parts_keep_apostrophes_and_the_html_part_escapes():
    org = SimpleNamespace(name="Cabinet d'acupuncture <Claire>")
    ctx = {"organization": org, "url": "https://x.example/o/a/", "minutes": 30}
    subject, text, html = render_email("public/email/portal_link", ctx, "en")
    assert "Cabinet d'acupuncture <Claire>" in subject
    assert "Cabinet d'acupuncture <Claire>" in text
    assert "&#x27;" not in subject + text and "&lt;" not in subject + text
    # The HTML part is HTML: the same name arrives escaped there.
    assert "Cabinet d&#x27;acupuncture &lt;Claire&gt;" in html
