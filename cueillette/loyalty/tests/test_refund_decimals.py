from decimal import Decimal

from cueillette.core.audit import Actor
from cueillette.loyalty import services
from cueillette.loyalty.models import Purchase


def test_partial_refunds_add_up_exactly_to_the_amount(tenant, customer, owner):
    """0.23 + 0.01 must equal 0.24 on every database (no floating-point sums)."""
    staff = Actor.staff(owner, "owner")
    card = services.join_program(customer, actor=staff)
    purchase = services.record_purchase(card, amount="0.24", actor=staff, receipt_id="P-024")
    services.refund_purchase(purchase, amount="0.23", actor=staff)
    services.refund_purchase(purchase, amount="0.01", actor=staff)
    purchase = Purchase.objects.get(pk=purchase.pk)
    assert purchase.refunded_amount == Decimal("0.24")
    assert purchase.points_taken_back == purchase.points
