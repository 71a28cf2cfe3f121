"""PDF receipts (a payment by card or from the wallet, a refund, a wallet top-up) and a tasker's
monthly statement of earnings and payouts.

Made on demand with fpdf2, a pure-Python PDF library (no system packages, so ``make run`` works on
a fresh machine). Text is set in DejaVu Sans (shipped in ``reporting/fonts``, from the npm package
``dejavu-fonts-ttf``, free licence in that folder), so names and titles in accented Latin, Greek or
Cyrillic print as typed; fpdf2 embeds only the glyphs used.

Who may download: a payment's, a refund's and a top-up's receipt, the client who paid and staff; a statement,
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
from payments.models import Escrow, EscrowRefund, WalletTopUp
from payouts import selectors as payouts
from payouts.models import Payout
from processors.selectors import payment_cards

ZERO = Decimal("0.00")

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


WALLET_PAID = "Paid from your Holdfast wallet"


def _from_wallet(escrow: Escrow) -> bool:
    return escrow.funding_source == Escrow.FundingSource.WALLET


def payment_receipt_pdf(escrow: Escrow) -> bytes:
    """The receipt of the client's payment into ``escrow``: the work, the service fee, the total
    (paid by card, or from the client's wallet: then there is no card and no charge)."""
    pdf = _Document("Payment receipt", payment_receipt_number(escrow))
    reference = escrow.payment.reference if escrow.payment_id else ""
    charge = escrow.payment.charge_reference if escrow.payment_id else ""
    facts = [
        ("Receipt number", payment_receipt_number(escrow)),
        ("Date paid", format_when(escrow.funded_at)),
        ("Paid by", _who(escrow.client)),
        ("Task", f"#{escrow.task_id} {escrow.task.title}"),
    ]
    if _from_wallet(escrow):
        facts.append(("Payment method", WALLET_PAID))
    else:
        facts += [("Payment method", _card(charge)), ("Payment reference", reference), ("Charge reference", charge)]
    pdf.facts([*facts, ("Currency", escrow.currency)])
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
            ("Payment method", WALLET_PAID if _from_wallet(escrow) else _card(charge)),
            ("Money returned to", "Your Holdfast wallet" if _from_wallet(escrow) else "The card paid with"),
            ("Refund reference", refund.processor_reference or "—"),
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
    if _from_wallet(escrow):
        pdf.note("This payment was made from your Holdfast wallet, so the refund went back to your wallet at once.")
    else:
        pdf.note(
            "The refund goes back to the card the payment was made with; your bank may take a few days to show it."
        )
    return pdf.render()


# --- wallet top-ups ------------------------------------------------------------------------------


def top_up_for_receipt(*, top_up_id: int, user: User | AnonymousUser | None) -> WalletTopUp:
    """A succeeded top-up whose receipt ``user`` may download (the client, or staff), else ``NotFound``."""
    if user is None or not user.is_authenticated or not 0 < top_up_id < 2**31:
        raise NotFound("No such receipt.", code="receipt_not_found")
    top_ups = payments.top_ups_funded(client=None if is_finance_staff(user) else user)
    top_up = (
        top_ups.filter(pk=top_up_id, status=WalletTopUp.Status.SUCCEEDED).select_related("client", "payment").first()
    )
    if top_up is None:
        raise NotFound("No such receipt.", code="receipt_not_found")
    return top_up


def top_up_receipt_number(top_up: WalletTopUp) -> str:
    return f"HF-T-{top_up.pk:06d}"


def top_up_receipt_pdf(top_up: WalletTopUp) -> bytes:
    """The receipt of a card payment into the client's wallet (and what has gone back to the card since)."""
    pdf = _Document("Wallet top-up receipt", top_up_receipt_number(top_up))
    reference = top_up.payment.reference if top_up.payment_id else ""
    charge = top_up.payment.charge_reference if top_up.payment_id else ""
    pdf.facts(
        [
            ("Receipt number", top_up_receipt_number(top_up)),
            ("Date paid", format_when(top_up.funded_at)),
            ("Paid by", _who(top_up.client)),
            ("Payment method", _card(charge)),
            ("Payment reference", reference),
            ("Charge reference", charge),
            ("Currency", top_up.currency),
        ]
    )
    pdf.lines([("Added to your Holdfast wallet", _money(top_up.amount, top_up.currency), True)])
    if top_up.withdrawn_amount:
        pdf.lines([("Withdrawn back to the card since", _money(-top_up.withdrawn_amount, top_up.currency), False)])
    pdf.note(
        "A top-up is money kept in your Holdfast wallet to pay for tasks at once; no service fee is charged on "
        "it. What you have not spent can be withdrawn back to this card."
    )
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


@dataclass(frozen=True)
class StatementPayout:
    requested_at: dt.datetime
    payout_id: int
    bank: str
    status: str
    status_label: str
    amount: Decimal
    fee: Decimal
    net: Decimal


def statement_payouts(*, tasker: User, month: dt.date, currency: str) -> list[StatementPayout]:
    """The tasker's payouts requested in ``month`` (any outcome), oldest first."""
    from reporting.periods import start_of_day

    start = start_of_day(month)
    end = start_of_day((month + dt.timedelta(days=32)).replace(day=1))
    found = (
        payouts.payouts_for_history(tasker=tasker)
        .filter(currency=currency, requested_at__gte=start, requested_at__lt=end)
        .select_related("account")
        .order_by("requested_at", "id")
    )
    return [
        StatementPayout(
            p.requested_at,
            p.pk,
            f"{p.account.bank_name or 'Bank'} ····{p.account.bank_last4}" if p.account.bank_last4 else "Bank",
            p.status,
            p.get_status_display(),
            p.amount,
            p.fee,
            p.net,
        )
        for p in found
    ]


def statement_months(*, user: User, limit: int = 24) -> list[tuple[str, str]]:
    """(YYYY-MM, currency) of the months in which ``user`` had earnings released or payouts, newest first."""
    earned = (
        payments.escrows_paid(tasker=user)
        .filter(status__in=payments.RELEASED_STATUSES)
        .annotate(month=TruncMonth("released_at"))
        .values_list("month", "currency")
    )
    paid_out = payouts.payouts_for_history(tasker=user).annotate(month=TruncMonth("requested_at"))
    months = earned.union(paid_out.values_list("month", "currency")).order_by("-month", "currency")
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
    paid_out = statement_payouts(tasker=tasker, month=month, currency=currency)
    pdf.ln(3)
    if paid_out:
        pdf.table(
            ["Requested", "Payout", "Status", "Amount", "Fee", "Net to bank"],
            [
                [
                    format_when(p.requested_at),
                    f"#{p.payout_id} {p.bank}",
                    p.status_label,
                    _money(p.amount, currency),
                    _money(-p.fee, currency),
                    _money(p.net, currency),
                ]
                for p in paid_out
            ],
            [32, 44, 34, 30, 20, 30],
            {3, 4, 5},
        )
        settled = [p for p in paid_out if p.status == Payout.Status.PAID]
        net = sum((p.net for p in settled), ZERO)
        fees = sum((p.fee for p in settled), ZERO)
        pdf.lines(
            [
                ("Paid out to your bank (paid payouts, net)", _money(net, currency), True),
                ("Payout fees", _money(-fees, currency), False),
            ]
        )
    else:
        pdf.note("No payouts were requested in this month.")
    return pdf.render()


def payment_receipt_attachment(escrow_id: int) -> tuple[str, bytes, str]:
    """(filename, PDF, MIME type) of a paid escrow's receipt, to attach to an email."""
    escrow = payments.escrows_paid().select_related("task", "client", "payment").get(pk=escrow_id)
    return f"holdfast-receipt-{payment_receipt_number(escrow)}.pdf", payment_receipt_pdf(escrow), PDF
