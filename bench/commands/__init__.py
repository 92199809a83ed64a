"""The command line: ``bench`` and its subcommands (:mod:`bench.commands.cli`), ``bench timing`` (:mod:`bench.commands.timing`)."""
