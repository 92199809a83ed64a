"""asv benchmarks of deconv-bench.

``asv.conf.json`` uses the existing environment: benchmarks run in the Python
that runs asv, with deconv-bench installed (``pip install -e .``); nothing is
built or installed by asv. From the repository root::

    asv machine --yes                                      # once per machine
    asv run --python=same --dry-run --show-stderr          # print timings, save nothing
    asv run --python=same --set-commit-hash $(git rev-parse HEAD)   # save them in .asv/results
    asv publish                                            # HTML in .asv/html

Without the install, prefix the runs with ``ASV_PYTHONPATH=$PWD`` (asv drops
``PYTHONPATH``). Select a suite with ``-b RichardsonLucySuite``.
"""
