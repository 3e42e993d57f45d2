"""The use cases: one module per feature, each "load, decide, save" on the domain's aggregates.

Every use case takes plain data and an `Actor` (who acts, named in the events it records) and
depends only on ports (`ledger/ports.py`) and the domain, so it runs as well on in-memory adapters
as on PostgreSQL. Routes and pages (`api/`) parse input, call one use case and shape its answer;
`api/composition.py` wires each use case to its adapters. Whether a contact may be messaged is
not decided here: the domain decides it (`ledger/decision.py`), use cases only ask.
"""
