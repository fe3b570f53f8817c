"""A plugin's conftest: aiida-core's modern fixtures, registered the way plugins register them."""

pytest_plugins = ["aiida.tools.pytest_fixtures"]
