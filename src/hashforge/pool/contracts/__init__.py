"""Cloud mining: the operator sells hash-rate contracts backed by its own farm (workers of its own
payout addresses in this pool); each accounting period's farm earnings are allocated to the active
contracts in proportion to contracted hash rate x time, less maintenance fees, and credited to the
customers' payout addresses so the pool's payouts pay them.

    allocation.py  the arithmetic (pure)      book.py       sell/cancel (capacity check), views
    farm.py        farm settings, measuring   allocator.py  periods from the ledger -> journal + credits
    api.py         the pool REST routes       errors.py     ContractError (400/404/409)
"""

from .allocation import Allocation, Terms, allocate
from .allocator import allocate_pending
from .book import Sale
from .errors import ContractConflict, ContractError, ContractNotFound

__all__ = ["Allocation", "ContractConflict", "ContractError", "ContractNotFound", "Sale", "Terms", "allocate",
           "allocate_pending"]
