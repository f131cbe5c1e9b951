"""The repository configuration (``ld-reconciler.yaml``) and what it does to flags.

``configuration``: finding, loading and checking the file, and the settings it gives.
``resolution``: each flag merged with the configuration's defaults and its template,
keeping where every field came from, so findings point at the line that set it.
"""
