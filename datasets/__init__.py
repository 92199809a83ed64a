"""Built-in dataset plugins, one file per dataset (installed as ``bench.datasets``).

Each ``<name>.py`` holds one ``Dataset(BaseDataset)`` whose ``name`` equals the
file stem with ``_`` written ``-``. Files starting with ``_`` are helpers.
"""
