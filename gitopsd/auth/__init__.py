"""Authentication and authorization: accounts and passwords, signed tokens, RBAC policy.

Sits beside gitopsd/app (it reads projects for project-role tokens) and below
gitopsd/server, whose gRPC interceptor asks this package who is calling and
whether they may. Nothing here knows about gRPC.
"""
