"""Kubernetes access through the official client; API errors are mapped to our own types here.

This package is the only place that imports ``kubernetes``. ``gitopsd.kube.errors``,
``gitopsd.kube.types`` and ``gitopsd.kube.credentials`` are pure; the client itself lives in
``gitopsd.kube.client`` so that importing the errors does not load the (slow to import) client.
"""
