"""The P2P exception tree: what can go wrong with a peer, and how badly."""

from __future__ import annotations


class P2PError(Exception):
    """Base of every error raised by hashforge.node.p2p."""


class FramingError(P2PError):
    """The byte stream is not Bitcoin P2P framing (wrong magic, oversized message): disconnect."""


class MessageDecodeError(P2PError):
    """A well-framed message whose payload does not decode (or has a bad checksum)."""


class HandshakeError(P2PError):
    """The version handshake failed (self-connection, obsolete version, missing services...)."""
