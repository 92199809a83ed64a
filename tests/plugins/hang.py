"""Never returns (until its worker is stopped): the run must record a timeout and go on."""

import time

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "hang"
    blind = True

    def run(self, y, psf, optics):
        while True:
            time.sleep(1)
