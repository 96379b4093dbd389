"""QA follow-ups of the NPS: settings errors in words and units, charts whose labels are not
cut, every follow-up note kept, the promoter's way to the referral page."""

from __future__ import annotations

import datetime as dt
import re
import time
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cueillette.accounts.models import User
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent, Organization
from cueillette.customers import portal
from cueillette.feedback import charts, privacy, queries, services
from cueillette.feedback.charts import NpsBar, nps_chart
from cueillette.feedback.models import FollowUp, FollowUpNote, Survey

from .conftest import make_member, make_purchase, make_survey

pytestmark = pytest.mark.django_db

SETTINGS = {
    "enabled": "on",
    "delay": "6",
    "delay_unit": "hours",
    "sampling_rate": "100",
    "min_days_between": "90",
    "link_validity_days": "14",
    "question_fr": "",
    "question_en": "",
}


# --------------------------------------------------------------------------- 10. settings


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="id_{name}_error">(.*?)</p>', html, re.S)
    assert found, f"no error next to {name}"
    return found.group(1)


def test_settings_errors_name_the_field_in_words_next_to_it(
    tenant: Organization, owner_client: Client
) -> None:
    url = reverse("feedback:settings")
    bad = {
        **SETTINGS,
        "delay": "-1",
        "sampling_rate": "150",
        "min_days_between": "0",
        "link_validity_days": "zero",
    }
    response = owner_client.post(url, bad, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        _field_error(html, "delay") == "Wait after the purchase or visit: between 0 and 1440 hours"
    )
    assert _field_error(html, "sampling_rate") == (
        "Share of purchases and visits followed by a survey: between 0 and 100 %"
    )
    assert _field_error(html, "min_days_between") == (
        "Days between two surveys to one customer: between 1 and 730 days"
    )
    assert _field_error(html, "link_validity_days") == (
        "How long the survey link works: enter a whole number"
    )
    assert services.get_settings().delay_hours == 24  # nothing saved


def test_the_delay_limit_is_quoted_in_the_unit_chosen(
    tenant: Organization, owner_client: Client
) -> None:
    url = reverse("feedback:settings")
    html = owner_client.post(
        url, {**SETTINGS, "delay": "61", "delay_unit": "days"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert _field_error(html, "delay") == "Wait after the purchase or visit: between 0 and 60 days"
    # 60 days is the limit itself: accepted, stored in hours.
    response = owner_client.post(url, {**SETTINGS, "delay": "60", "delay_unit": "days"})
    assert response.status_code == 302
    assert services.get_settings().delay_hours == 60 * 24
    # The service takes the page's delay as well as hours (the API, the tests).
    with translation.override("en"), pytest.raises(ServiceError) as err:
        services.update_settings(
            services.SettingsChange(delay="1.5", delay_unit="days"), actor=Actor.system("test")
        )
    assert (err.value.field, err.value.message) == (
        "delay",
        "Wait after the purchase or visit: enter a whole number",
    )
    with translation.override("en"), pytest.raises(ServiceError) as err:
        services.update_settings(
            services.SettingsChange(delay_hours=2000), actor=Actor.system("test")
        )
    assert err.value.field == "delay_hours" and "between 0 and 1440 hours" in err.value.message
    with translation.override("en"), pytest.raises(ServiceError) as err:
        services.update_settings(
            services.SettingsChange(question_fr="x" * 301), actor=Actor.system("test")
        )
    assert err.value.message == "The question in French: 300 characters at most"


# --------------------------------------------------------------------------- 15. charts


def _label_column(svg: str) -> tuple[int, list[str]]:
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))  # type: ignore[union-attr]
    labels = [unescape(t) for t in re.findall(r"<tspan [^>]*>([^<]*)</tspan>", svg)]
    return width, labels


def test_chart_labels_are_whole_and_start_inside_the_drawing() -> None:
    labels = [
        "Recommandé par un client",
        "Un professionnel (santé ou autre métier)",
        "A health or trade professional",
        "Autre",
    ]
    svg = str(nps_chart("t", "Title", [NpsBar(label, 10, "+10") for label in labels]))
    width, shown = _label_column(svg)
    assert shown == labels  # nothing cut, one line each
    assert "…" not in svg
    assert 'viewBox="0 0 ' in svg and 'class="fb-chart"' in svg
    # The labels end at x and are measured generously: their start is right of 0.
    x = int(re.search(r'<tspan x="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    for label in labels:
        assert x - charts.text_width(label) >= 0
    assert x + charts.PLOT_WIDTH < width


def test_the_label_column_fits_the_longest_label_within_limits() -> None:
    short = nps_chart("a", "T", [NpsBar("Or", 50, "+50"), NpsBar("Argent", -5, "-5")])
    long = nps_chart("b", "T", [NpsBar("Recommandé par un client", 50, "+50")])
    w_short, _l = _label_column(str(short))
    w_long, _l = _label_column(str(long))
    assert w_short == charts.LABEL_MIN + charts.PLOT_WIDTH
    assert charts.LABEL_MIN + charts.PLOT_WIDTH < w_long <= charts.LABEL_MAX + charts.PLOT_WIDTH
    # The old cut: 22 characters, then "…" and a clipped first letter.
    assert "Recommandé par un client" in str(long)


def test_only_labels_beyond_the_maximum_wrap_then_end_with_an_ellipsis() -> None:
    huge = "Clients fidèles depuis l'ouverture du magasin " * 4
    svg = str(nps_chart("c", "T", [NpsBar(huge, 20, "+20"), NpsBar("Or", None, "—")]))
    width, shown = _label_column(svg)
    assert width == charts.LABEL_MAX + charts.PLOT_WIDTH
    assert len(shown) == 3 and shown[2] == "Or"  # two lines for the long one
    assert shown[1].endswith("…")
    room = charts.LABEL_MAX - charts.LABEL_MARGIN - charts.GAP
    assert all(charts.text_width(line) <= room for line in shown)
    assert f"<title>{huge.strip()}</title>".replace("'", "&#x27;") in svg  # the whole label
    # A single word longer than the room is cut, not overflowing.
    lines = charts.wrap_label("x" * 200, 100)
    assert len(lines) == 1 and lines[0].endswith("…") and charts.text_width(lines[0]) <= 100


def test_the_dashboard_shows_the_whole_segment_label(
    tenant: Organization, owner_client: Client
) -> None:
    customer, _card = make_member(tenant)
    survey, _t = make_survey(customer, came_from="referral")
    Survey.objects.filter(pk=survey.pk).update(answered_at=timezone.now(), score=10)
    html = owner_client.get(reverse("feedback:nps"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    svg = html[html.index('id="nps-came-from"') :]
    svg = svg[: svg.index("</svg>")]
    assert ">Referred by a customer</tspan>" in svg and "…" not in svg
    assert 'data-segment="referral"' in html  # the table is still there


# --------------------------------------------------------------------------- 17. notes


def _detractor(org: Organization) -> Survey:
    customer, _card = make_member(org, first_name="Odile", last_name="Garnier")
    survey, _t = make_survey(customer)
    Survey.objects.filter(pk=survey.pk).update(
        answered_at=timezone.now(), score=3, comment="Accueil froid", follow_up=FollowUp.TO_CONTACT
    )
    survey.refresh_from_db()
    return survey


def test_a_new_note_is_added_and_never_overwrites_the_previous_one(
    tenant: Organization, owner: User, manager: User
) -> None:
    survey = _detractor(tenant)
    t0 = timezone.now()
    services.update_follow_up(
        survey,
        status="contacted",
        note="Appelée le 24/11",
        actor=Actor.staff(owner, "owner"),
        now=t0,
    )
    services.update_follow_up(
        survey,
        status="contacted",
        note="Rappel : bon d'achat envoyé",
        actor=Actor.staff(manager, "manager"),
        now=t0 + dt.timedelta(hours=2),
    )
    # A status change alone, an empty note or the latest note again add no note.
    services.update_follow_up(survey, status="resolved", note="", actor=Actor.staff(owner, "owner"))
    services.update_follow_up(
        survey,
        status="resolved",
        note="Rappel : bon d'achat envoyé",
        actor=Actor.staff(owner, "owner"),
    )
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.RESOLVED
    assert survey.follow_up_note == "Rappel : bon d'achat envoyé"  # the latest
    notes = list(FollowUpNote.objects.filter(survey=survey))  # newest first
    assert [(n.text, n.author, n.status) for n in notes] == [
        ("Rappel : bon d'achat envoyé", manager, "contacted"),
        ("Appelée le 24/11", owner, "contacted"),
    ]
    assert notes[1].created_at == t0 and notes[0].author_label == manager.display_name
    rows = list(
        AuditEvent.objects.filter(action="feedback.follow_up", object_id=survey.pk).order_by("id")
    )
    # The audit rows point at the notes; the text lives in the notes only (erasure blanks it).
    assert [r.data.get("note_id") for r in rows] == [notes[1].pk, notes[0].pk, None]
    assert all("note" not in r.data for r in rows)
    # Notes are only appended.
    with pytest.raises(ValueError):
        notes[0].save()
    with pytest.raises(ValueError):
        notes[0].delete()


def test_the_follow_up_page_shows_every_note_with_its_author(
    tenant: Organization, owner_client: Client, owner: User
) -> None:
    survey = _detractor(tenant)
    url = reverse("feedback:follow_up_update", kwargs={"pk": survey.pk})
    owner_client.post(
        url, {"status": "contacted", "note": "Appelée le 24/11 <b>", "back_status": ""}
    )
    owner_client.post(url, {"status": "contacted", "note": "Bon d'achat envoyé", "back_status": ""})
    html = owner_client.get(
        reverse("feedback:follow_up") + "?status=contacted", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    item = html[html.index(f'id="survey-{survey.pk}"') :]
    assert 'data-notes="2"' in item and "2 notes in the history" in item
    assert "Appelée le 24/11 &lt;b&gt;" in item and "<b>" not in item.split("</li>")[0]
    assert "Bon d&#x27;achat envoyé" in item
    assert item.count(f"by {owner.display_name} (Contacted)") == 2
    assert item.index("Bon d&#x27;achat") < item.index("Appelée le 24/11")  # newest first
    # The form starts empty: a note is added, not edited.
    assert re.search(rf'<textarea name="note" id="note-{survey.pk}"[^>]*></textarea>', item)


def test_erasure_blanks_every_note_and_the_export_lists_them(
    tenant: Organization, owner: User
) -> None:
    survey = _detractor(tenant)
    for text in ("Premier appel", "Second appel"):
        services.update_follow_up(
            survey, status="contacted", note=text, actor=Actor.staff(owner, "owner")
        )
    [row] = privacy.export_rows(survey.customer)
    assert [n["note"] for n in row["follow_up_notes"]] == ["Premier appel", "Second appel"]
    portal.erase_customer(survey.customer, actor=Actor.customer("test"), reason="self")
    assert set(FollowUpNote.objects.filter(survey=survey).values_list("text", flat=True)) == {""}
    event = AuditEvent.objects.get(action="feedback.answers_anonymised")
    assert event.data["notes"] == 2
    assert queries.follow_ups().get(pk=survey.pk).follow_up_note == ""


# --------------------------------------------------------------------------- 18. promoters


def _promoter_thanks(client: Client, org: Organization) -> str:
    customer, card = make_member(org)
    purchase = make_purchase(card, timezone.now() - dt.timedelta(days=1))
    _survey, token = make_survey(customer, purchase=purchase)
    url = reverse("public:survey", kwargs={"slug": org.slug, "token": token}) + "?lang=en"
    response = client.post(url, {"score": "10"})
    assert response.status_code == 200
    return response.content.decode()


def _referral_href(html: str) -> str:
    found = re.search(r'<a class="btn btn--secondary" href="([^"]+)" data-invite="referral"', html)
    assert found, "no referral invitation"
    return found.group(1)


def test_without_an_open_space_the_invitation_asks_for_the_space_then_opens_the_referral_page(
    client: Client, tenant: Organization
) -> None:
    html = _promoter_thanks(client, tenant)
    href = _referral_href(html)
    refer = f"/o/{tenant.slug}/space/refer/"
    assert href.endswith(f"/o/{tenant.slug}/space/link/?next={refer}")
    assert "we will email you a link to open it" in html
    # The link page carries it into the emailed link.
    page = client.get(href[href.index("/o/") :]).content.decode()
    assert f'name="next" value="{refer}"' in page


def test_with_an_open_space_the_invitation_goes_straight_to_the_referral_page(
    client: Client, tenant: Organization
) -> None:
    customer, _card = make_member(tenant)
    session = client.session
    session[f"portal_customer_{tenant.pk}"] = {
        "customer": customer.pk,
        "org": tenant.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    html = _promoter_thanks(client, tenant)
    assert _referral_href(html).endswith(f"/o/{tenant.slug}/space/refer/")
    assert "we will email you a link" not in html
