"""Parsers and harvesters of the sources with history: arXiv OAI-PMH and query API, the
bioRxiv/medRxiv details API and Crossref. Each parser turns one stored page into
``lib.models.Entry`` rows with the announcement day each record belongs to."""
