"""Compile stage: load a rule, convert it per target, render and write the query text."""
