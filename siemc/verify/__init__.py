"""Verify stage: the reference evaluator, event loading and the rules' unit tests."""
