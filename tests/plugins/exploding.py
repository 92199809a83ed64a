"""Raises on every case: its rows are errors with the message."""

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "exploding"
    blind = True

    def run(self, y, psf, optics):
        raise RuntimeError("kaboom")
