"""The gitopsd command line: argument parsing and output only; it talks to the daemon over gRPC."""
