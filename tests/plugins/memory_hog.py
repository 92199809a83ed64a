"""Allocates memory without end, 64 MiB at a time, until its worker's memory limit stops it ("crashed").

It stops by itself with MemoryError at 3 GiB, so it is safe even without a limit.
"""

import time

import numpy as np

from bench.api import BaseMethod


class Method(BaseMethod):
    name = "memory_hog"
    blind = True

    def run(self, y, psf, optics):
        hoard = []
        for _ in range(48):
            hoard.append(np.ones(2**23))  # 64 MiB, written so it is resident
            time.sleep(0.02)  # lets the nanny's memory monitor (every 100 ms) see it grow
        raise MemoryError("memory_hog reached 3 GiB")
