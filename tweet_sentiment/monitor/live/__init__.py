"""Learning from production: feedback harvested from the query log, trained on, and the retrain decision."""
