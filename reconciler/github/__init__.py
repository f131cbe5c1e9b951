"""GitHub: the sticky pull-request comment and its API client."""
