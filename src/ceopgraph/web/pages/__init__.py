"""The models of the HTML pages, one module a page: ``resource`` (any resource), ``home`` (this
dataset's home page) and ``notfound`` (a 404 page's hints).

Their parts: ``model`` (links, values, figures), ``builder`` (terms to parts, with ``ceopgraph.labels``),
``provenance`` (the source sentences a resource rests on), ``figures`` (a cube's observations),
``chart`` (their bars) and ``rows`` (query solutions as typed records). All pure: functions of a
``Store``, graphs and plain values, no Flask; the templates only lay the models out. The one stateful
piece, ``index.SubjectIndex``, is a per-app service the web layer holds and passes in.
"""
