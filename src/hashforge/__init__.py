"""hashforge: a complete proof-of-work mining stack, Bitcoin-compatible in consensus and on the wire."""

__version__ = "0.1.0"
