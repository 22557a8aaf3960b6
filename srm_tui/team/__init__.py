"""The team store (CONTRACT section 9): setting up a shared PostgreSQL store and reporting on it.

``init.init_store(url)`` creates or upgrades the schema and the database roles;
``init.store_status(url)`` says what a store holds and who the connection is in it. No
Textual here: the CLI (srm_tui.cli.team) is one face over these functions.
"""
