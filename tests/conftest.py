"""Test configuration: fixtures live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "fixtures.sandbox",
    "fixtures.gitrepos",
    "fixtures.renderers",
    "fixtures.daemon",
]
