"""Executable models of the query languages that have no installable engine (SPL, AQL, Sumo Logic,
YARA-L 2.0, LogScale).

Each model is a Lark grammar plus an evaluator for the subset of its language that siemc emits,
written from the vendor documentation and never importing siemc's backends. A model is evidence,
not the real engine: it rejects what the real language rejects in that subset and evaluates it as the
documentation says, and each has its own tests taken from the documentation's examples.
"""
