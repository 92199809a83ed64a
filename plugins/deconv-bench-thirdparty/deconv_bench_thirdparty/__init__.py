"""deconv-bench method plugins wrapping deconvolution packages from PyPI (sdeconv, RedLionfish).

Each module holds one ``Method`` registered through the ``deconv_bench.methods``
entry point; the wrapped package is imported only when the method runs, so a
missing or broken package leaves its methods listed as unavailable, with the
reason, and the rest of the registry intact.
"""
