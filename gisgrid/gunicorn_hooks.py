"""gunicorn settings module for `./run serve` (`-c python:gisgrid.gunicorn_hooks`).

Only hooks live here: gunicorn reads every name of this module that matches one of its
settings, so nothing else is defined at module level.
"""


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from gisgrid.warmup import warm_up_worker

    warm_up_worker(worker)
