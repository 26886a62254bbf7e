"""Applications that make applications: app of apps and ApplicationSets.

One ownership mechanism serves both (gitopsd.app.generators.ownership): the owner is recorded on the
child, and the owner's reconcile creates, updates and prunes its children. gitopsd.app.generators.appofapps
lets an application's rendered `argoproj.io` Application/AppProject documents become such children.
"""
