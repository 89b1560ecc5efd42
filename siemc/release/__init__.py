"""Release stage: versioned bundles of deployable rules, from what the build produced (never a backend)."""
