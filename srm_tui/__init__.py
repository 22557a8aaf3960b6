"""srm: a terminal console for subscription support and retention teams."""

__version__ = "0.1.0"
