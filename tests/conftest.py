"""The real stack's fixtures (tests/stack.py), registered once for the whole run; they do
nothing until a test asks for one (unit and browser tests never do)."""

pytest_plugins = ["tests.stack"]
