"""hashforge's Stratum v1 mining pool, split by role as ckpool does.

- connector: sockets, framing, limits, timeouts (connector.py)
- stratifier: jobs, share validation, vardiff (stratifier.py, shares.py, vardiff.py, template.py)
- generator: node RPC: templates, submitblock (generator.py)
- recorder: durable share pipeline (recorder.py, db/)
- accounting: schemes apart from coin logic, block lifecycle (accounting/)
- payouts: idempotent batched payouts through a PayoutWallet (payouts.py)
- api: FastAPI router and Prometheus metrics (api.py, metrics.py)
"""

from .config import PoolConfig, Scheme, load_config
from .errors import PoolError, ShareRejected
from .payouts import BuiltTransaction, PayoutProcessor, PayoutWallet
from .records import BlockFound, ShareRecord
from .service import PoolService
from .shares import ShareCheck, Submission, check_share

__all__ = [
    "BlockFound",
    "BuiltTransaction",
    "PayoutProcessor",
    "PayoutWallet",
    "PoolConfig",
    "PoolError",
    "PoolService",
    "Scheme",
    "ShareCheck",
    "ShareRecord",
    "ShareRejected",
    "Submission",
    "check_share",
    "load_config",
]
