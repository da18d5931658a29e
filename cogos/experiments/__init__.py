"""Config-driven experiments: a grid of runs (cells x seeds), in parallel, summarised, plotted.

See :mod:`cogos.experiments.spec` for the YAML.
"""
