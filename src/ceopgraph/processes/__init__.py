"""The process room, at the bottom: killable, confined worker processes for work we cannot interrupt.

- ``pool``: the worker pool (time limits, a heap cap, recycling, lanes; fresh interpreters or forks of
  a holder). It knows nothing of queries or submissions: callers send picklable jobs and turn its
  failures into their own errors.
- ``sandbox``: the confinement every worker takes before it imports anything (no network, a heap cap).

The store's query processes, the query checker (``ceopgraph.queryvet``) and the validation service run
on them. Nothing here imports another ceopgraph module, and nothing is imported here: every worker runs
this file first, and the query processes must stay light.
"""
