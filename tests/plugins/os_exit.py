"""Ends its process with os._exit (no cleanup, no exception): the row is "crashed"."""

import os

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "os_exit"
    blind = True

    def run(self, y, psf, optics):
        os._exit(3)
