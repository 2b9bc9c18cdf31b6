"""ceopgraph: the CEOP Annual Review 2012/13 as a linked open data knowledge graph."""

__version__ = "0.1.0"
