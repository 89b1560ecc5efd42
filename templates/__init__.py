"""Jinja templates, one folder per target; installed as the data package siemc.templates."""
