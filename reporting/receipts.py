"""PDF receipts (a payment, a refund) and a tasker's monthly statement of earnings.

Made on demand with fpdf2, a pure-Python PDF library (no system packages, so ``make run`` works on
a fresh machine). Text is set in DejaVu Sans (shipped in ``reporting/fonts``, from the npm package
``dejavu-fonts-ttf``, free licence in that folder), so names and titles in accented Latin, Greek or
Cyrillic print as typed; fpdf2 embeds only the glyphs used.

Who may download: a payment's and a refund's receipt, the client who paid and staff; a statement,
the tasker it is for and staff. For anyone else the document does not exist (``NotFound``). The
tasker is not given the client's receipt: it shows the client's service fee and card, which are
none of the tasker's business (as on the escrow page).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models.functions import TruncMonth
from fpdf import FPDF

from accounts.models import User
from core.errors import NotFound, ValidationError
from core.money import format_money, validate_currency
from core.templatetags.holdfast import format_when
from payments import selectors as payments
from payments.models import Escrow, EscrowRefund
from processors.selectors import payment_cards

FONTS = Path(__file__).resolve().parent / "fonts"
PDF = "application/pdf"


def is_finance_staff(user: User | AnonymousUser | None) -> bool:
    """Staff who may read anyone's money documents (Finance and Support see escrows)."""
    return bool(user and user.is_authenticated and user.is_staff and user.has_perm("payments.view_escrow"))


# --- who may see what ---------------------------------------------------------------------------


def payment_for_receipt(*, escrow_id: int, user: User | AnonymousUser | None) -> Escrow:
    """The paid escrow whose receipt ``user`` may download (its client, or staff), else ``NotFound``."""
    if user is None or not user.is_authenticated or not 0 < escrow_id < 2**31:
        raise NotFound("No such receipt.", code="receipt_not_found")
    escrows = payments.escrows_paid(client=None if is_finance_staff(user) else user)
    escrow = escrows.select_related("task", "client", "payment").filter(pk=escrow_id).first()
    if escrow is None:
        raise NotFound("No such receipt.", code="receipt_not_found")
    return escrow


def refund_for_receipt(*, refund_id: int, user: User | AnonymousUser | None) -> EscrowRefund:
    """A succeeded refund whose receipt ``user`` may download (the client, or staff), else ``NotFound``."""
    if user is None or not user.is_authenticated or not 0 < refund_id < 2**31:
        raise NotFound("No such receipt.", code="receipt_not_found")
    refunds = payments.escrow_refunds(client=None if is_finance_staff(user) else user)
    refund = (
        refunds.filter(pk=refund_id, status=EscrowRefund.Status.SUCCEEDED)
        .select_related("escrow__task", "escrow__client", "escrow__payment")
        .first()
    )
    if refund is None:
        raise NotFound("No such receipt.", code="receipt_not_found")
    return refund


def parse_month(value: str) -> dt.date:
    try:
        if len(value) != 7:
            raise ValueError(value)
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise ValidationError(
            "Give the month like 2026-11.", code="month_invalid", details={"field": "month"}
        ) from None


def statement_subject(*, user: User | AnonymousUser | None, tasker_id: int | None) -> User:
    """Whose statement: one's own; staff may name a tasker (``tasker_id``); anyone else naming
    another user finds nothing."""
    if user is None or not user.is_authenticated:
        raise NotFound("No such statement.", code="statement_not_found")
    if tasker_id is None or tasker_id == user.pk:
        return user
    if not is_finance_staff(user):
        raise NotFound("No such statement.", code="statement_not_found")
    tasker = User.objects.filter(pk=tasker_id).first()
    if tasker is None:
        raise NotFound("No such statement.", code="statement_not_found")
    return tasker


# --- the documents ------------------------------------------------------------------------------


class _Document(FPDF):
    def __init__(self, title: str, number: str):
        super().__init__(format="A4")
        self.title_text, self.number = title, number
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(f"{title} {number}")
        self.set_author(settings.REPORTING_COMPANY_NAME)
        self.set_creator("Holdfast")
        self.set_auto_page_break(auto=True, margin=20)
        self.add_page()
        self._head()

    def _head(self) -> None:
        self.set_font("DejaVu", "B", 18)
        self.cell(0, 10, settings.REPORTING_COMPANY_NAME, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 9)
        for line in (*settings.REPORTING_COMPANY_ADDRESS, settings.REPORTING_COMPANY_EMAIL):
            if line:
                self.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        self.ln(6)
        self.set_font("DejaVu", "B", 14)
        self.cell(0, 8, self.title_text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 10)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"{self.number} · page {self.page_no()}/{{nb}}", align="C")

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.set_font("DejaVu", "B", 10)
            self.cell(45, 6, label)
            self.set_font("DejaVu", "", 10)
            self.multi_cell(0, 6, value or "—", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def lines(self, rows: list[tuple[str, str, bool]]) -> None:
        """Money lines: (label, amount, is_total)."""
        width = self.w - self.l_margin - self.r_margin
        for label, amount, total in rows:
            self.set_font("DejaVu", "B" if total else "", 11 if total else 10)
            if total:
                self.line(self.l_margin, self.get_y(), self.l_margin + width, self.get_y())
            self.cell(width - 50, 7, label)
            self.cell(50, 7, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], numeric: set[int]) -> None:
        self.set_font("DejaVu", "B", 9)
        for i, title in enumerate(header):
            self.cell(widths[i], 6, title, border="B", align="R" if i in numeric else "L")
        self.ln()
        self.set_font("DejaVu", "", 9)
        for row in rows:
            for i, value in enumerate(row):
                text = value if self.get_string_width(value) <= widths[i] - 1 else _clip(self, value, widths[i] - 1)
                self.cell(widths[i], 6, text, align="R" if i in numeric else "L")
            self.ln()
        self.ln(3)

    def note(self, text: str) -> None:
        self.set_font("DejaVu", "", 8)
        self.multi_cell(0, 4, text, new_x="LMARGIN", new_y="NEXT")

    def render(self) -> bytes:
        return bytes(self.output())


def _clip(pdf: FPDF, text: str, width: float) -> str:
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _card(charge_reference: str) -> str:
    card = payment_cards(charge_references=[charge_reference]).get(charge_reference)
    return f"{card.brand.title()} ending {card.last4}" if card else "Card"


def _who(user: User) -> str:
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{name} <{user.email}>" if name and name != user.email else user.email


def payment_receipt_number(escrow: Escrow) -> str:
    return f"HF-P-{escrow.pk:06d}"


def payment_receipt_pdf(escrow: Escrow) -> bytes:
    """The receipt of the client's payment into ``escrow``: the work, the service fee, the total."""
    pdf = _Document("Payment receipt", payment_receipt_number(escrow))
    reference = escrow.payment.reference if escrow.payment_id else ""
    charge = escrow.payment.charge_reference if escrow.payment_id else ""
    pdf.facts(
        [
            ("Receipt number", payment_receipt_number(escrow)),
            ("Date paid", format_when(escrow.funded_at)),
            ("Paid by", _who(escrow.client)),
            ("Task", f"#{escrow.task_id} {escrow.task.title}"),
            ("Payment method", _card(charge)),
            ("Payment reference", reference),
            ("Charge reference", charge),
            ("Currency", escrow.currency),
        ]
    )
    pdf.lines(
        [
            ("Agreed amount (the work)", _money(escrow.amount, escrow.currency), False),
            ("Service fee", _money(escrow.client_fee, escrow.currency), False),
            ("Total paid", _money(escrow.client_total, escrow.currency), True),
        ]
    )
    if escrow.refunded_amount:
        pdf.lines([("Refunded since (see refund receipts)", _money(-escrow.refunded_amount, escrow.currency), False)])
    pdf.note(
        "Holdfast holds this payment in escrow until you approve the work; it is then released to the "
        "tasker, or refunded to you as the marketplace's rules say."
    )
    return pdf.render()


def refund_receipt_number(refund: EscrowRefund) -> str:
    return f"HF-R-{refund.pk:06d}"


def refund_receipt_pdf(refund: EscrowRefund) -> bytes:
    """The receipt of a refund to the client: how much went back, to which payment, why."""
    escrow = refund.escrow
    pdf = _Document("Refund receipt", refund_receipt_number(refund))
    charge = escrow.payment.charge_reference if escrow.payment_id else ""
    pdf.facts(
        [
            ("Receipt number", refund_receipt_number(refund)),
            ("Date refunded", format_when(refund.completed_at or refund.created_at)),
            ("Refunded to", _who(escrow.client)),
            ("Task", f"#{escrow.task_id} {escrow.task.title}"),
            (
                "Original payment",
                f"{payment_receipt_number(escrow)} · {escrow.payment.reference if escrow.payment_id else ''}",
            ),
            ("Payment method", _card(charge)),
            ("Refund reference", refund.processor_reference),
            ("Reason", refund.reason),
            ("Currency", escrow.currency),
        ]
    )
    pdf.lines(
        [
            ("Original payment", _money(escrow.client_total, escrow.currency), False),
            ("Refunded", _money(refund.amount, escrow.currency), True),
        ]
    )
    pdf.note("The refund goes back to the card the payment was made with; your bank may take a few days to show it.")
    return pdf.render()


@dataclass(frozen=True)
class StatementLine:
    released_at: dt.datetime
    escrow_id: int
    title: str
    amount: Decimal
    commission: Decimal
    net: Decimal


def earnings_statement_lines(*, tasker: User, month: dt.date, currency: str) -> list[StatementLine]:
    """The tasker's earnings released in ``month`` (amount, commission kept, net), oldest first."""
    from reporting.periods import start_of_day

    start = start_of_day(month)
    end = start_of_day((month + dt.timedelta(days=32)).replace(day=1))
    escrows = (
        payments.escrows_paid(tasker=tasker)
        .filter(status__in=payments.RELEASED_STATUSES, currency=currency, released_at__gte=start, released_at__lt=end)
        .select_related("task")
        .order_by("released_at", "id")
    )
    lines = []
    for escrow in escrows:
        _fee, commission = payments.escrow_fees_kept(escrow=escrow)
        net = escrow.released_to_tasker
        lines.append(StatementLine(escrow.released_at, escrow.pk, escrow.task.title, net + commission, commission, net))
    return lines


def statement_months(*, user: User, limit: int = 24) -> list[tuple[str, str]]:
    """(YYYY-MM, currency) of the months in which ``user`` had earnings released, newest first."""
    months = (
        payments.escrows_paid(tasker=user)
        .filter(status__in=payments.RELEASED_STATUSES)
        .annotate(month=TruncMonth("released_at"))
        .values_list("month", "currency")
        .distinct()
        .order_by("-month", "currency")
    )
    return [(month.strftime("%Y-%m"), currency) for month, currency in months[:limit]]


def statement_number(*, tasker: User, month: dt.date, currency: str) -> str:
    return f"HF-S-{tasker.pk:06d}-{month:%Y%m}-{currency}"


def earnings_statement_pdf(*, tasker: User, month: dt.date, currency: str) -> bytes:
    """A tasker's statement of earnings for one month and currency."""
    currency = validate_currency(currency)
    lines = earnings_statement_lines(tasker=tasker, month=month, currency=currency)
    number = statement_number(tasker=tasker, month=month, currency=currency)
    pdf = _Document(f"Statement of earnings · {month:%B %Y}", number)
    pdf.facts(
        [
            ("Statement number", number),
            ("Tasker", _who(tasker)),
            (
                "Period",
                f"{month:%d %B %Y} – {(month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1):%d %B %Y}",
            ),
            ("Currency", currency),
        ]
    )
    rows = [
        [
            format_when(line.released_at),
            f"#{line.escrow_id} {line.title}",
            _money(line.amount, currency),
            _money(-line.commission, currency),
            _money(line.net, currency),
        ]
        for line in lines
    ]
    if rows:
        pdf.table(["Released", "Task", "Amount", "Commission", "Net"], rows, [38, 62, 30, 30, 30], {2, 3, 4})
    else:
        pdf.note("No earnings were released to you in this month.")
        pdf.ln(3)
    total_amount = sum((line.amount for line in lines), Decimal("0.00"))
    total_commission = sum((line.commission for line in lines), Decimal("0.00"))
    total_net = sum((line.net for line in lines), Decimal("0.00"))
    pdf.lines(
        [
            ("Earnings (amount of the work)", _money(total_amount, currency), False),
            ("Holdfast commission", _money(-total_commission, currency), False),
            ("Net paid to your wallet", _money(total_net, currency), True),
        ]
    )
    pdf.note("Net earnings are credited to your Holdfast wallet when the client approves the work.")
    return pdf.render()


def payment_receipt_attachment(escrow_id: int) -> tuple[str, bytes, str]:
    """(filename, PDF, MIME type) of a paid escrow's receipt, to attach to an email."""
    escrow = payments.escrows_paid().select_related("task", "client", "payment").get(pk=escrow_id)
    return f"holdfast-receipt-{payment_receipt_number(escrow)}.pdf", payment_receipt_pdf(escrow), PDF
