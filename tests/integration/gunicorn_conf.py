"""gunicorn settings for the multiprocess test, with the documented worker-exit hook."""

from llmobs import mark_process_dead

workers = 3
worker_class = "sync"


def child_exit(server, worker):
    mark_process_dead(worker.pid)
