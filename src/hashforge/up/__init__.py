"""`hashforge up`: a whole mining operation on one machine — node, wallet, pool, miner, API and
dashboard — each part its own process, meeting the others over its real protocol on 127.0.0.1."""

from .supervisor import Part, PartFailed, Supervisor

__all__ = ["Part", "PartFailed", "Supervisor"]
