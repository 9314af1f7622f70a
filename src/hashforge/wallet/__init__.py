"""hashforge's HD wallet: BIP39/BIP32 keys (BIP84 P2WPKH default, BIP86 P2TR), an encrypted
keystore, chain tracking over a node's JSON-RPC, coin selection, sending (RBF, fee bumps,
idempotent batched payouts) and BIP174 PSBTs.

Typical payout use::

    wallet = Wallet.open(datadir, get_params("devnet"), rpc=RPCClient(url, cookie=cookie))
    wallet.unlock(passphrase)
    wallet.sync()
    txid = wallet.send_many([(address, sats), ...], idempotency_key=f"payout-{batch_id}")
"""

from .addresses import DEFAULT_GAP_LIMIT
from .errors import (
    AmountError,
    BadInputError,
    BroadcastError,
    BumpFeeError,
    DustError,
    FeeRateError,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidAddressError,
    InvalidKeyError,
    InvalidMnemonicError,
    KeystoreCorruptError,
    KeystoreError,
    NodeError,
    PSBTError,
    SigningError,
    TransactionNotFoundError,
    WalletError,
    WalletExistsError,
    WalletLockedError,
    WalletNotFoundError,
    WatchOnlyError,
    WrongPassphraseError,
)
from .keys import ScriptType, generate_mnemonic, mnemonic_to_seed, validate_mnemonic
from .keystore import Keystore, ScryptParams
from .models import Balance, HistoryEntry, PreparedTx, Utxo
from .policy import FeeRate, dust_threshold
from .sync import SyncReport
from .wallet import Wallet, default_datadir

__all__ = [
    "DEFAULT_GAP_LIMIT",
    "AmountError",
    "BadInputError",
    "Balance",
    "BroadcastError",
    "BumpFeeError",
    "DustError",
    "FeeRate",
    "FeeRateError",
    "HistoryEntry",
    "IdempotencyConflictError",
    "InsufficientFundsError",
    "InvalidAddressError",
    "InvalidKeyError",
    "InvalidMnemonicError",
    "Keystore",
    "KeystoreCorruptError",
    "KeystoreError",
    "NodeError",
    "PSBTError",
    "PreparedTx",
    "ScriptType",
    "ScryptParams",
    "SigningError",
    "SyncReport",
    "TransactionNotFoundError",
    "Utxo",
    "Wallet",
    "WalletError",
    "WalletExistsError",
    "WalletLockedError",
    "WalletNotFoundError",
    "WatchOnlyError",
    "WrongPassphraseError",
    "default_datadir",
    "dust_threshold",
    "generate_mnemonic",
    "mnemonic_to_seed",
    "validate_mnemonic",
]
