from decimal import Decimal

import pytest

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.customers.services import has_consent
from cueillette.loyalty import services
from cueillette.loyalty.models import Card, PointsEntry, Reward


@pytest.fixture
def staff(owner):
    return Actor.staff(owner, "owner")


def balance_matches(card):
    card.refresh_from_db()
    assert card.balance == sum(
        PointsEntry.objects.filter(card=card).values_list("points", flat=True)
    )
    return card.balance


def test_join_purchase_refund_redeem_undo(tenant, customer, staff):
    program = services.get_program()
    program.welcome_bonus = 10
    program.save()
    card = services.join_program(customer, actor=staff)
    assert has_consent(customer, "loyalty")
    assert balance_matches(card) == 10
    p = services.record_purchase(card, amount="42.50", actor=staff, receipt_id="R1")
    assert p.points == 42
    assert balance_matches(card) == 52
    # Same receipt again: no second credit.
    again = services.record_purchase(card, amount="42.50", actor=staff, receipt_id="R1")
    assert again.pk == p.pk and balance_matches(card) == 52
    with pytest.raises(ServiceError) as err:
        services.record_purchase(card, amount="40", actor=staff, receipt_id="R1")
    assert err.value.status == 409
    services.refund_purchase(p, amount="21.25", actor=staff)
    assert balance_matches(card) == 31
    with pytest.raises(ServiceError):
        services.refund_purchase(p, amount="30", actor=staff)
    reward = Reward.objects.create(name="Café", cost=20, stock=1)
    services.redeem(card, reward, actor=staff)
    assert balance_matches(card) == 11
    with pytest.raises(ServiceError) as err:
        services.redeem(card, reward, actor=staff)
    assert err.value.code in ("out_of_stock", "insufficient_points")
    services.undo_last(card, actor=staff)
    assert balance_matches(card) == 31
    reward.refresh_from_db()
    assert reward.stock == 1
    card = services.leave_program(card, actor=staff)
    assert not card.is_open and not has_consent(customer, "loyalty")
    assert Card.objects.get(pk=card.pk).balance == 31


def test_bad_inputs_write_nothing(tenant, customer, staff):
    card = services.join_program(customer, actor=staff)
    for amount in ("-5", "abc", "1e9", "1.234"):
        with pytest.raises(ServiceError) as err:
            services.record_purchase(card, amount=amount, actor=staff, receipt_id=f"X{amount}")
        assert err.value.field == "amount"
    with pytest.raises(ServiceError) as err:
        services.record_purchase(card, amount="5", actor=staff, currency="USD", receipt_id="Y")
    assert err.value.code == "unknown_currency"
    assert PointsEntry.objects.count() == 0
    assert Decimal(0) == sum(p.amount for p in card.purchases.all())
