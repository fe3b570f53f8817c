"""Root conftest: makes pytest's own ``pytester`` fixture available to the project's tests."""

pytest_plugins = ["pytester"]
