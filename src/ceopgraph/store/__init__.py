"""The store room: everything that runs SPARQL over the data, embedded or remote.

- ``protocol``: the ``Store`` protocol the front end talks to.
- ``jobs``: endpoint jobs, their answers and the store's errors (light: the query processes import them).
- ``embedded``: pyoxigraph in this process for our own queries, and the pool of query processes.
- ``queryproc``: the query processes' half (a job in, a serialised answer out).
- ``disk``: the files the store loads, and the on-disk copy the query processes open read-only.
- ``remote`` and ``client``: a remote SPARQL 1.1 store over HTTP, and what every request to one has in
  common (``publish`` writes with it too).

The query processes are workers of ``ceopgraph.processes`` (killable, confined: no network, a capped
heap), the room below this one that the query checker and the validation service use too.

Nothing is imported here: every process that imports a module of the package runs this file first,
and the query processes must stay light (no rdflib).
"""
