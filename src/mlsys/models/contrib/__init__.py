"""Your own conversion models, one module each, scaffolded by ``ml-new model <name>``.

Modules here are part of the mlsys package, so their ``_target_`` passes the config whitelist
(``mlsys.*``) and a trained bundle unpickles wherever mlsys is installed (serving included)
without ``MLSYS_EXTRA_TARGETS``. See docs/ARCHITECTURE.md, "Add a model".
"""
