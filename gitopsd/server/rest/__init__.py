"""The JSON API on Argo CD's REST paths, served by the HTTP listener (gitopsd/server/http_app.py).

One implementation serves gRPC and HTTP: each route (routes.py) turns a request's path, query and
JSON body into the RPC's request message, and gateway.py calls the very servicer method with the
auth interceptor's own steps (token, RBAC check, List filtering, stream limits). Nothing here
decides who may do what.
"""
