"""Refreshing an organization's figures and every insights page, through the front doors."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core import mail
from django.core.management import call_command

from cueillette.apikeys.services import create_api_key
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tenancy import tenant_context
from cueillette.customers import services as customer_services
from cueillette.insights import fitting, services
from cueillette.insights.models import CustomerScore, ExitSurvey, ModelRun, ReasonAttachment
from cueillette.insights.services import EXIT_SURVEY_SALT
from cueillette.loyalty.models import Refund

from .conftest import NOW, buy, customer

WEEK = dt.timedelta(weeks=1)
TRUTH = {"r": 1.2, "alpha": 4.0, "a": 0.7, "b": 3.0}


def simulated_shop(org: Any, n: int = 80, seed: int = 3) -> list[Any]:
    """Customers whose purchases follow a BG/NBD process, at exact (non-round) instants."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(30, 90, size=n)
    x, t_x, _t = fitting.simulate_bgnbd(TRUTH, ages, rng)
    people = []
    for i in range(n):
        c = customer(org, f"Sim{i}", "Zsimulated")
        first = NOW - dt.timedelta(weeks=float(ages[i]))
        times = [0.0]
        if x[i] > 0:
            times += sorted(rng.uniform(0, t_x[i], size=int(x[i]) - 1).tolist())
            times.append(float(t_x[i]))
        for t in times:
            buy(c, round(float(rng.gamma(6, 5)), 2), first + dt.timedelta(weeks=t))
        people.append(c)
    return people


@pytest.fixture
def shop(org: Any) -> list[Any]:
    with tenant_context(org):
        return simulated_shop(org)


def test_refresh_fits_the_models_and_scores_every_buyer(
    org: Any, owner: Any, shop: list[Any]
) -> None:
    with tenant_context(org):
        done = services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        run = done.run
        assert run.status == "ok", run.message
        assert done.scores_written == len(shop)
        assert set(run.bgnbd["params"]) == {"r", "alpha", "a", "b"}
        assert all(math.isfinite(v) for v in run.bgnbd["std_errors"].values())
        assert run.holdout["status"] == "ok"
        scores = list(CustomerScore.objects.all())
        assert all(s.p_alive is not None and 0 <= s.p_alive <= 1 for s in scores)
        assert all(s.purchases_3m <= s.purchases_6m <= s.purchases_12m for s in scores)
        assert AuditEvent.objects.filter(action="insights.refreshed").count() == 1


def test_a_failed_fit_keeps_the_previous_figures_and_says_so(
    org: Any, owner: Any, shop: list[Any], owner_client: Any, monkeypatch: Any
) -> None:
    with tenant_context(org):
        first = services.refresh(actor=Actor.staff(owner, "owner"), now=NOW).run
        before = sorted(CustomerScore.objects.values_list("customer_id", "p_alive"))

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise fitting.FitError("the fit did not converge in 2000 iterations")

        monkeypatch.setattr(fitting, "fit_bgnbd", broken)
        failed = services.refresh(actor=Actor.staff(owner, "owner"), now=NOW + WEEK).run
        assert failed.status == "failed"
        assert sorted(CustomerScore.objects.values_list("customer_id", "p_alive")) == before
        assert set(CustomerScore.objects.values_list("run_id", flat=True)) == {first.pk}
    page = owner_client.get("/app/insights/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"data-failed-run" in page.content
    assert b"the fit did not converge" in page.content
    assert b"The figures below are the previous ones" in page.content


def test_too_little_history_gives_segments_and_says_what_is_missing(
    org: Any, owner: Any, owner_client: Any
) -> None:
    with tenant_context(org):
        for i in range(5):
            c = customer(org, f"Few{i}", "Zfew")
            buy(c, 20, NOW - 30 * WEEK)
            buy(c, 20, NOW - (20 - i) * WEEK)
        run = services.refresh(actor=Actor.staff(owner, "owner"), now=NOW).run
        assert run.status == "not_enough"
        assert (
            run.message == "not enough data yet (need 20 customers with a repeat purchase, have 5)"
        )
        assert CustomerScore.objects.filter(p_alive__isnull=True).count() == 5
    html = owner_client.get("/app/insights/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "need 20 customers with a repeat purchase, have 5" in html
    assert "data-not-enough" in html
    model = owner_client.get("/app/insights/model/").content.decode()
    assert ">nan<" not in model.lower() and "NaN" not in model


def test_undone_and_fully_refunded_sales_do_not_count(org: Any, owner: Any) -> None:
    with tenant_context(org):
        c = customer(org, "Refunda", "Zrefund")
        kept = buy(c, 40, NOW - 10 * WEEK)
        gone = buy(c, 30, NOW - 8 * WEEK, refunded_amount=30)
        undone = buy(c, 25, NOW - 6 * WEEK, refunded_amount=25)
        Refund.objects.create(
            purchase=undone,
            amount=25,
            points=0,
            occurred_at=undone.occurred_at,
            source="counter",
            reason="undo",
        )
        half = buy(c, 50, NOW - 4 * WEEK, refunded_amount=20)
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        score = CustomerScore.objects.get(customer=c)
        assert score.purchases == 2
        assert str(score.total_spend) == "70.00"  # 40 + (50 - 20)
        assert (
            score.first_purchase_at == kept.occurred_at
            and score.last_purchase_at == half.occurred_at
        )
        assert gone.pk  # kept in the ledger, only left out of the figures


PAGES = (
    "/app/insights/",
    "/app/insights/segments/champions/",
    "/app/insights/segments/lost/call-list/",
    "/app/insights/at-risk/",
    "/app/insights/model/",
    "/app/insights/lost-revenue/",
    "/app/insights/changes/",
    "/app/insights/cohorts/",
    "/app/insights/reasons/",
)


def test_every_page_renders_with_figures_and_without_nan(
    org: Any, owner: Any, shop: list[Any], owner_client: Any
) -> None:
    with tenant_context(org):
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        some = CustomerScore.objects.first()
        assert some is not None
    for url in (*PAGES, f"/app/insights/customer/{some.customer_id}/"):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert ">nan<" not in text.lower() and "NaN" not in text and "inf<" not in text, url


def test_pages_render_empty_states_before_any_purchase(owner_client: Any) -> None:
    for url in (
        "/app/insights/",
        "/app/insights/at-risk/",
        "/app/insights/lost-revenue/",
        "/app/insights/cohorts/",
        "/app/insights/model/",
    ):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert b"data-empty" in response.content, url


def test_counter_staff_do_not_see_insights(counter_client: Any) -> None:
    assert counter_client.get("/app/insights/").status_code == 403
    assert b"/app/insights/" not in counter_client.get("/app/customers/").content


def test_model_page_shows_parameters_standard_errors_and_the_holdout_check(
    org: Any, owner: Any, shop: list[Any], owner_client: Any
) -> None:
    with tenant_context(org):
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
    html = owner_client.get("/app/insights/model/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="bgnbd-params"' in html and "Standard error" in html
    assert 'id="chart-holdout"' in html and 'id="holdout-table"' in html
    assert "inverse of the Hessian" in html


def test_customer_record_shows_the_sentence_that_explains_the_figures(
    org: Any, owner: Any, shop: list[Any], owner_client: Any
) -> None:
    with tenant_context(org):
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        score = CustomerScore.objects.filter(purchases__gt=2).first()
        assert score is not None
    html = owner_client.get(
        f"/app/customers/{score.customer_id}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Probably still active" in html and "Expected spend next 12 months" in html
    assert f"{score.purchases} purchases, about one every" in html


def test_api_gives_a_customers_scores_and_the_segments(
    org: Any, owner: Any, shop: list[Any], client: Any
) -> None:
    with tenant_context(org):
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        _key, raw = create_api_key("till", "read", actor=Actor.system("test"))
        score = CustomerScore.objects.filter(purchases__gt=1).first()
        assert score is not None
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get(f"/api/v1/insights/customers/{score.customer_id}", **auth).json()
    assert 0 <= body["p_alive"] <= 1
    assert set(body["expected_spend"]) == {"3m", "6m", "12m"}
    assert body["freshness"]["status"] == "ok"
    segments = client.get("/api/v1/insights/segments", **auth).json()
    assert sum(s["customers"] for s in segments["segments"]) == len(shop)
    assert client.get("/api/v1/insights/customers/999999", **auth).status_code == 404


def test_call_list_and_csv_offer_only_customers_who_agreed(
    org: Any, owner: Any, owner_client: Any
) -> None:
    with tenant_context(org):
        yes = customer(org, "Agreed", "Zcalllist", phone="+33611111111")
        no = customer(org, "Refused", "Zcalllist", phone="+33622222222")
        for c in (yes, no):
            buy(c, 10, NOW - 80 * WEEK)
        customer_services.record_consent(
            yes, "news_sms", True, source="counter", actor=Actor.staff(owner, "owner")
        )
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        segment = CustomerScore.objects.get(customer=yes).segment
    listing = owner_client.get(f"/app/insights/segments/{segment}/call-list/").content.decode()
    assert "Agreed" in listing and "+33611111111" in listing
    assert "Refused" not in listing and "+33622222222" not in listing
    csv_text = owner_client.get(f"/app/insights/segments/{segment}/contacts.csv").content.decode()
    assert "+33611111111" in csv_text and "Refused" not in csv_text


def test_exit_survey_needs_the_feedback_consent_and_records_one_answer(
    org: Any, owner: Any, owner_client: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(org):
        c = customer(org, "Quitte", "Zexit", email="quitte.exit@example.net")
        buy(c, 30, NOW - 40 * WEEK)
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
    refused = owner_client.post(f"/app/insights/customer/{c.pk}/exit-survey/")
    assert refused.status_code == 409  # the customer's choice, not a staff right
    assert b"not agreed to be asked" in refused.content or "accepté".encode() in refused.content
    with tenant_context(org):
        customer_services.record_consent(
            c, "feedback", True, source="counter", actor=Actor.staff(owner, "owner")
        )
    with django_capture_on_commit_callbacks(execute=True):
        sent = owner_client.post(f"/app/insights/customer/{c.pk}/exit-survey/")
    assert sent.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["quitte.exit@example.net"]
    assert "List-Unsubscribe" in message.extra_headers
    link = next(w for w in message.body.split() if "/leaving/" in w)
    path = link.split("testserver")[-1] if "testserver" in link else "/" + link.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200 and b"data-exit-survey" in page.content
    with tenant_context(org):
        assert ReasonAttachment.objects.count() == 0  # opening the link records nothing
    missing = client.post(path, {"reason": ""})
    assert missing.status_code == 400
    answered = client.post(path, {"reason": "access", "comment": "Plus de bus"})
    assert answered.status_code == 200 and b"data-answered" in answered.content
    again = client.post(path, {"reason": "prices"})
    assert b"exit_survey_answered" in again.content
    with tenant_context(org):
        rows = list(ReasonAttachment.objects.all())
        assert [(r.source, r.reason.code, r.comment) for r in rows] == [
            ("survey", "access", "Plus de bus")
        ]
        assert ExitSurvey.objects.get().answered_at is not None
    # A second question within six months is refused.
    assert owner_client.post(f"/app/insights/customer/{c.pk}/exit-survey/").status_code == 409
    assert EXIT_SURVEY_SALT  # the link is signed with the app's own salt


def test_reason_list_is_editable_in_both_languages(org: Any, owner_client: Any) -> None:
    page = owner_client.get("/app/insights/reasons/")
    assert page.status_code == 200
    added = owner_client.post(
        "/app/insights/reasons/",
        {
            "form": "reason",
            "new-label_fr": "Travaux dans la rue",
            "new-label_en": "Roadworks",
            "new-active": "on",
        },
    )
    assert added.status_code == 302
    bad = owner_client.post("/app/insights/reasons/", {"form": "reason", "new-label_fr": "Seul"})
    assert bad.status_code == 400
    assert b"French and in English" in bad.content or "français".encode() in bad.content
    settings_bad = owner_client.post(
        "/app/insights/reasons/",
        {
            "form": "settings",
            "lapse_factor": "0,5",
            "holdout_weeks": "12",
            "change_window_weeks": "6",
        },
    )
    assert settings_bad.status_code == 400
    ok = owner_client.post(
        "/app/insights/reasons/",
        {
            "form": "settings",
            "lapse_factor": "2,5",
            "holdout_weeks": "8",
            "change_window_weeks": "4",
        },
    )
    assert ok.status_code == 302
    with tenant_context(org):
        assert str(services.get_settings().lapse_factor) == "2.5"


def test_cli_fit_prints_one_json_object(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    rng = np.random.default_rng(11)
    x, t_x, t = fitting.simulate_bgnbd(TRUTH, rng.uniform(20, 60, size=800), rng)
    rows = ["frequency,recency,T"] + [f"{a},{b},{c}" for a, b, c in zip(x, t_x, t, strict=True)]
    path.write_text("\n".join(rows))
    out = io.StringIO()
    call_command("insights", "fit", str(path), "--model", "bgnbd", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body["params"]) == {"r", "alpha", "a", "b"}
    assert set(body["std_errors"]) == set(body["params"])
    assert body["log_likelihood"] < 0


def test_cli_refresh_one_organization(org: Any, shop: list[Any]) -> None:
    out = io.StringIO()
    call_command("insights", "refresh", "--org", org.slug, stdout=out, stderr=io.StringIO())
    assert f"{org.slug}: " in out.getvalue()
    with tenant_context(org):
        assert ModelRun.objects.get().status == "ok"


def test_an_insight_segment_becomes_a_messaging_audience(
    org: Any, owner: Any, shop: list[Any], owner_client: Any
) -> None:
    """From "At risk" to a campaign: the segment page links to a saved audience of exactly
    its customers; a made-up segment code is refused."""
    import re

    from django.urls import reverse

    from cueillette.messaging import audience
    from cueillette.messaging.models import Segment

    with tenant_context(org):
        services.refresh(actor=Actor.staff(owner, "owner"), now=NOW)
        by_segment: dict[str, set[int]] = {}
        for s in CustomerScore.objects.all():
            by_segment.setdefault(s.segment, set()).add(s.customer_id)
    code, members = max(by_segment.items(), key=lambda kv: len(kv[1]))
    page = owner_client.get(reverse("insights:segment", args=[code])).content.decode()
    link = reverse("messaging:segment_new") + f"?rfm={code}"
    assert link in page
    form = owner_client.get(link + "&name=Test").content.decode()
    assert re.search(rf'value="{code}"[^>]*checked', form)
    r = owner_client.post(reverse("messaging:segment_new"), {"name": "Relance", "rfm": [code]})
    assert r.status_code == 302
    with tenant_context(org):
        seg = Segment.objects.get(name="Relance")
        assert seg.filters["rfm"] == [code]
        assert set(audience.segment_queryset(seg.filters).values_list("pk", flat=True)) == members
    bad = owner_client.post(reverse("messaging:segment_new"), {"name": "X", "rfm": ["vip"]})
    assert bad.status_code == 400
