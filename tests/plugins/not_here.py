"""A method that cannot run here: skipped with its reason."""

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "not_here"
    blind = True

    def unavailable(self, device):
        return "needs a checkpoint: run bench train not_here"
