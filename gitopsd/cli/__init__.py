"""The gitopsd command line: argument parsing and output only; it talks to the daemon over gRPC."""

import os

# gRPC's C core prints its own lines (e.g. "Handshake failed") on stderr; the CLI reports
# every failure in one line of its own. Set before grpc is first imported; a user's setting wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
