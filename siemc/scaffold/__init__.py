"""The files `siemc init` writes into a new rules repository (data only; siemc/init.py writes them).

The example rules are not here: they are the repository's own `detections/`, which the package
installs as `siemc.scaffold.detections` (pyproject.toml), so the example never drifts from the rule
siemc builds and tests itself.
"""
