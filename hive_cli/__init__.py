"""``hive-cli``: the store's command line (schema upgrades, queries, charts, exports, imports)."""
