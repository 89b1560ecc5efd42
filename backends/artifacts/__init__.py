"""Artifact writers, one per SIEM (siemc.release.artifacts)."""
