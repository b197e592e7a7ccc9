"""Call-center metrics computed from the stored calls: pure functions of a database session and a filter.

Definitions (formula, denominator, edge cases) are in the README's "Metrics" section; every rate whose denominator
is zero is None, never 0 or NaN.
"""
