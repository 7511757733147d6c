"""The model in production: drift reports on the query log, and the live loop (harvest, accuracy, retraining)."""
