"""The remote access tool catalog (detections/catalog/): loading, validation, list generation, import."""
