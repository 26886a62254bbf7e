"""Daemon wiring: gRPC servicers (protobuf <-> domain), config, logging, HTTP, process lifecycle."""
