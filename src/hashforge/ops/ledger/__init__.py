"""Income ledger, expenses, disposals and tax-year reports (record-keeping, not tax advice).

`Ledger(ops_dir)` is the whole surface: prices (CSV), income (wallet, CSV, manual), expenses and
hardware depreciation, disposals matched FIFO/LIFO/HIFO, per-year reports and exports (Koinly CSV,
generic CSV, printable HTML, PDF through headless chromium). Tables live in OPS_DIR/ops.sqlite,
prefixed `ledger_`.
"""

from .errors import ChromiumMissingError, CSVError, LedgerError, NotFoundError, OverDisposalError
from .service import Ledger
from .settings import NOTE, Jurisdiction

__all__ = ["NOTE", "CSVError", "ChromiumMissingError", "Jurisdiction", "Ledger", "LedgerError", "NotFoundError",
           "OverDisposalError"]
