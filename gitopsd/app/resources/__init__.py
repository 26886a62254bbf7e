"""Live resources of an application, beyond comparing them: the resource tree (managed objects and
what they own), Kubernetes events, single resources (get, patch, delete), resource actions and pod
logs. Used by the ApplicationService's resource RPCs (gitopsd.server.servicers.app_resources)."""
