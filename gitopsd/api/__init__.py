"""Generated gRPC/protobuf code for proto/gitopsd/v1. Never edit: run scripts/genproto.py."""
