"""Offers: the catalogue's editing rules, drafts and the service the console and CLI share."""
