"""siemc: compile one Sigma rule into the native query language of seven SIEMs."""

__version__ = "0.1.0"
