"""Calls sys.exit(0): the run must neither stop nor report success for it."""

import sys

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "sys_exit"
    blind = True

    def run(self, y, psf, optics):
        sys.exit(0)
