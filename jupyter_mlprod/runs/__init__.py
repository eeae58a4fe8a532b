"""Headless, reproducible notebook runs with papermill: ``nb2prod run``, ``rerun``,
``runs list`` and ``verify``.

papermill and ipykernel come with the ``run`` extra; this package imports them lazily so
``nb2prod check``/``convert`` work without them.
"""
