"""The run engine: plan (method, case) tasks, run them on Dask workers, write the rows (:mod:`bench.run.runner`)."""
