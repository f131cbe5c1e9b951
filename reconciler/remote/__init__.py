"""Talking to LaunchDarkly.

Client operations and paging, retries, rate limits, base URL, secrets, observe.
"""
