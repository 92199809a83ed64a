"""Returns its input after sleeping ``seconds``: long enough to kill its worker mid-task in a test."""

import time

from bench.api import BaseMethod, Result


class Method(BaseMethod):
    name = "slow"
    blind = True

    def __init__(self, *, seconds: float = 1.0) -> None:
        self.seconds = seconds

    def run(self, y, psf, optics):
        time.sleep(self.seconds)
        return Result(y)
