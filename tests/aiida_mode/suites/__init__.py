"""Test suites written against aiida-core's fixtures, run by the AiiDA-mode tests with and without the mode.

The files here are copied into pytester folders under ``test_*.py`` and
``conftest.py`` names; under their own names the project's run does not collect them.
"""
