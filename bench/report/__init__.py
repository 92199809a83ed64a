"""Presentation: what people read about runs. It reads run folders only through :mod:`bench.run.runfolder`.

- :mod:`bench.report.stats`: merge runs into variants, bootstrap intervals, paired significance;
- :mod:`bench.report.tables`: the console table of ``bench run``, ``leaderboard.md``, number formats;
- :mod:`bench.report.html`: the static page ``leaderboard.html`` with its figures and image panels;
- :mod:`bench.report.benchopt`: benchopt's names, and ``bench export --format benchopt``;
- :mod:`bench.report.publish`: ``bench report``, which writes all of them.

Rows are grouped and shown by ``label``, the method with the parameters that
tell its runs apart (:func:`bench.config.method_label`): a ``budget=full`` and a
``budget=fast`` run of one method are two entries; ``method`` stays the plugin
name.
"""
