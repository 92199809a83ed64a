"""Returns its input times ``gain``: a well-behaved non-blind method whose rows are known exactly."""

from bench.api import BaseMethod, Result


class Method(BaseMethod):
    name = "scaled"
    blind = False

    def __init__(self, *, gain: float = 1.0) -> None:
        self.gain = gain

    def run(self, y, psf, optics):
        return Result(y * self.gain, info={"gain": self.gain})
