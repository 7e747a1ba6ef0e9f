from .support import clock, issuer

__all__ = ["clock", "issuer"]
