"""The manager role: the Open API (preheat jobs, clusters, personal access tokens), the
internal API through which schedulers register and claim preheat work, and the database that
is also the job queue. Roles never import one another: schedulers use ``wire.manager_client``.
"""
