"""gitopsd: a GitOps continuous-delivery daemon. See README.md for the architecture."""

__version__ = "0.1.0"
