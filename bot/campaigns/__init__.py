"""Outbound campaigns: rules (windows, retries, 230-FZ), the crash-safe dialer, and the operations on them."""
