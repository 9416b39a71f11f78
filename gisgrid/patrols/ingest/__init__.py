"""GPS ingestion, Traccar-style: decode -> normalise -> filters -> tag with grids -> store.

One small module per protocol decodes a request into `Fix` records (records.py); pipeline.py
runs the rest for a whole batch at once. Rejected fixes go to the quarantine with every reason
that fired; nothing is dropped silently.
"""
