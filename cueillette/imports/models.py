"""Imports from other tools: the import runs, their reported rows, remembered column mappings,
the suppression list of addresses never to email, other tools' customer ids and past sales."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import TenantModel
from cueillette.customers.models import Customer


class Kind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    SALES = "sales", _("Sales history")


class Layout(models.TextChoices):
    CSV = "csv", _("Spreadsheet (CSV)")
    MAILCHIMP = "mailchimp", _("Mailchimp audience")
    SHOPIFY = "shopify", _("Shopify customers")
    SQUARE = "square", _("Square transactions")


class Status(models.TextChoices):
    DRAFT = "draft", _("Waiting for your choices")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Stopped by an error")


class ConsentBasis(models.TextChoices):
    NONE = "none", _("No consent: do not record any")
    DOUBLE_OPT_IN = "double-opt-in", _("Confirmed by email in the other tool (double opt-in)")
    SINGLE_OPT_IN = "single-opt-in", _("Ticked a box, address not confirmed (single opt-in)")
    PAPER = "paper", _("Signed a paper form")


class Import(TenantModel):
    """One import of one file. Progress (``processed_rows``) is committed with each batch, so a
    killed run resumes after the last committed row and never writes a row twice."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    layout = models.CharField(max_length=10, choices=Layout.choices)
    filename = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    file_hash = models.CharField(max_length=64, db_index=True)
    file_size = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    # {"mapping": {header: field}, "consent_basis": {column: basis}, "award_points": bool,
    #  "mailchimp_status": "subscribed|unsubscribed|cleaned", "currency": "EUR"}
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    dry_run = models.BooleanField(default=False)
    total_estimate = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    check_counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Every customer this import creates carries this instant as created_at (resumes too):
    # a later row of the same file matching it is a merge, not an update.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"

    @property
    def percent(self) -> int:
        if self.status in (Status.DONE, Status.CHECKED):
            return 100
        if not self.total_estimate:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_estimate))

    @property
    def in_progress(self) -> bool:
        return self.status in (Status.CHECKING, Status.RUNNING)


class Severity(models.TextChoices):
    ERROR = "error", _("Refused")
    WARNING = "warning", _("Warning")


class ImportIssue(TenantModel):
    """A problem of one row (line, column, stable code, sentence), written with its batch."""

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="issues")
    from_check = models.BooleanField(default=False, help_text="found by the dry run")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=100)
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    severity = models.CharField(max_length=8, choices=Severity.choices)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["organization", "import_run", "from_check", "line"])]


class ColumnMapping(TenantModel):
    """How this organization's files with these headers map to our fields (remembered)."""

    signature = models.CharField(max_length=64)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "signature"], name="mapping_unique_sig")
        ]


class SuppressionReason(models.TextChoices):
    CLEANED = "cleaned", _("Address bounced (cleaned in Mailchimp)")
    BOUNCED = "bounced", _("Address bounced")
    COMPLAINT = "complaint", _("Marked as spam")


class Suppression(TenantModel):
    """An address never to email again, whatever any later consent says. Never deleted."""

    email = models.EmailField(max_length=254)
    reason = models.CharField(max_length=10, choices=SuppressionReason.choices)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    import_run = models.ForeignKey(
        Import, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="suppression_unique")
        ]


class ExternalCustomerId(TenantModel):
    """A customer's id in another tool (Shopify, Square, Mailchimp): sales are matched by it."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    system = models.CharField(max_length=20)
    external_id = models.CharField(max_length=100)
    # What the tool knew that has no field here: {"total_spent": "120.50", "total_orders": 4}
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "system", "external_id"], name="external_id_unique"
            )
        ]


class SaleKind(models.TextChoices):
    SALE = "sale", _("Sale")
    REFUND = "refund", _("Refund")


class ImportedSale(TenantModel):
    """A past sale or refund from another tool; anonymous when no customer could be matched.

    The same tool row (``row_key``: its transaction/payment id, or a hash of the row) is kept
    once per organization, so importing a file twice adds nothing.
    """

    import_run = models.ForeignKey(
        Import, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    row_key = models.CharField(max_length=120)
    kind = models.CharField(max_length=6, choices=SaleKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    occurred_at = models.DateTimeField()
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    matched_by = models.CharField(max_length=20, blank=True)
    transaction_id = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    # The loyalty purchase (or refund) made from it when the owner chose to award points.
    purchase = models.ForeignKey(
        "loyalty.Purchase", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "row_key"], name="sale_unique_row"),
            models.CheckConstraint(condition=Q(amount__gte=Decimal(0)), name="sale_amount_pos"),
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "-occurred_at"], name="sale_customer"),
            models.Index(fields=["organization", "occurred_at"], name="sale_time"),
        ]
