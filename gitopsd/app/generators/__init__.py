"""Applications that make applications: ApplicationSets (appset_*.py) and app of apps.

A parent (an ApplicationSet's generators, or an application whose render holds Application
documents) owns a set of child applications; one ownership mechanism serves both.
"""
