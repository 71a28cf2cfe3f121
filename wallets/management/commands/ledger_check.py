"""``manage.py ledger_check``: verify every ledger invariant; exit 1 with a report on any violation."""

from django.core.management.base import BaseCommand, CommandError

from wallets.selectors import ledger_invariant_violations


class Command(BaseCommand):
    help = (
        "Checks the ledger: entries balanced per currency, cached wallet and escrow balances equal to "
        "their postings, nothing negative where forbidden, the whole ledger summing to zero per currency, "
        "and the checks other apps register (payments: each escrow's account holds what the escrow says)."
    )

    def handle(self, *args, **options):
        violations = ledger_invariant_violations()
        if not violations:
            self.stdout.write(self.style.SUCCESS("Ledger OK: every invariant holds."))
            return
        self.stderr.write(self.style.ERROR(f"Ledger check FAILED: {len(violations)} violation(s)."))
        for violation in violations:
            self.stderr.write(f"  [{violation.check}] {violation.message}")
        raise CommandError("The ledger is inconsistent; see the report above.", returncode=1)
