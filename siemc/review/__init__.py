"""Review stage: diffs between revisions and coverage reports, from what the build produced."""
