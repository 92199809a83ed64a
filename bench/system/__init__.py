"""What every layer may use: files written atomically and verified, process measurements, code digests.

- :mod:`bench.system.files`: atomic writes and sha256 of files;
- :mod:`bench.system.measure`: timing, peak memory, the environment a run records;
- :mod:`bench.system.codeversion`: the digest of a module's source closure, which keys every cache.

Nothing here knows about images, PSFs or methods.
"""
