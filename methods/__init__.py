"""Built-in method plugins, one file per method (installed as ``bench.methods``).

Each ``<name>.py`` holds one ``Method(BaseMethod)`` whose ``name`` equals the
file stem. Files starting with ``_`` are shared helpers, not plugins.
"""
