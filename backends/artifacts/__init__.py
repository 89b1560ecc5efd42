"""Per-SIEM artifact writers (siemc.release.artifacts): `<target>.py` exposes `WRITER`, the files that
target's SIEM imports, built as data and written through siemc.release.serialize. `attack.py` is the
MITRE ATT&CK table they share (tactic and technique ids, names, references)."""
