"""Reads address 0 through ctypes: a segmentation fault kills its process, the row is "crashed"."""

import ctypes

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "segfault"
    blind = True

    def run(self, y, psf, optics):
        ctypes.string_at(0)
