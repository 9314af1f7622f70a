"""The wallet's exception tree. Messages are one line and never contain secrets.

`BadInputError` and its subclasses mean the caller's input was rejected before anything was
written (the CLI exits 2); every other `WalletError` is a failure while doing the work (exit 1).
"""

from __future__ import annotations

from hashforge.schema import SchemaError


class WalletError(Exception):
    """Base of every error the wallet raises on purpose."""


class BadInputError(WalletError):
    """Input rejected before anything changed: bad address, amount, mnemonic, PSBT, key."""


class WalletSchemaError(BadInputError, SchemaError):
    """The wallet database was written by a newer hashforge (or is no wallet database); unchanged."""


class InvalidMnemonicError(BadInputError):
    """Not a valid BIP39 English mnemonic (word count, unknown word, checksum)."""


class InvalidKeyError(BadInputError):
    """Not a usable extended key or output descriptor for this network."""


class InvalidAddressError(BadInputError):
    """Not a valid address on the wallet's network."""


class AmountError(BadInputError):
    """An amount that is malformed, not positive, or not a whole number of satoshis."""


class DustError(AmountError):
    """An output below the dust threshold of its script."""


class FeeRateError(BadInputError):
    """A fee rate that is malformed or outside the accepted range."""


class InsufficientFundsError(BadInputError):
    """The spendable balance does not cover the outputs plus the fee."""


class PSBTError(BadInputError):
    """A PSBT that cannot be parsed, does not belong to this network, or cannot be finalized."""


class KeystoreError(WalletError):
    """The encrypted keystore could not be read or written."""


class WrongPassphraseError(KeystoreError, BadInputError):
    """The passphrase does not open the keystore."""


class KeystoreCorruptError(KeystoreError):
    """The keystore failed authentication or does not parse: it was altered or damaged."""


class WalletExistsError(BadInputError):
    """A wallet already exists where one was to be created."""


class WalletNotFoundError(BadInputError):
    """No wallet in the data directory."""


class WatchOnlyError(WalletError):
    """A private-key operation on a watch-only wallet (or a locked one)."""


class WalletLockedError(WatchOnlyError):
    """Signing was asked for before `Wallet.unlock`."""


class NodeError(WalletError):
    """The node could not be reached or answered an error."""


class BroadcastError(NodeError):
    """The node rejected a transaction."""


class IdempotencyConflictError(BadInputError):
    """An idempotency key reused for a different request."""


class TransactionNotFoundError(BadInputError):
    """No such transaction in the wallet."""


class BumpFeeError(WalletError):
    """The transaction cannot be replaced (confirmed, not ours, not BIP125-replaceable, ...)."""


class SigningError(WalletError):
    """A signature could not be produced or did not verify."""
