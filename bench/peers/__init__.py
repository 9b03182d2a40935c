"""Python peers side by side (issue 16, target 4): `python -m bench.peers`."""
