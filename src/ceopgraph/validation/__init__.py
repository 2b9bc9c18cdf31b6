"""Validating RDF against our shapes, in the order the work is done.

``shapes`` loads and names the shapes graph; ``engine`` validates a graph (pySHACL for the core,
``bulk`` for the SHACL-SPARQL constraints it can run once each) into a ``report``; ``guide`` reads the
shapes as a person's "what a submission must contain"; ``service`` parses and validates untrusted
submissions in worker processes that a time limit can kill.

Nothing is re-exported here: importing one module (the web pages need only ``shapes``) does not load
pySHACL, which only ``engine`` imports.
"""
