"""`flask backup`: a consistent, checked copy of the SQLite database while the app serves."""
