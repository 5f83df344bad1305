"""`deploy-gate verify`: the watch engine (engine.py) apart from the pure checks (checks.py) it runs
over a snapshot of live objects (snapshot.py), as kstatus keeps `polling/` apart from `status/`.

Nothing is imported here: the checks must stay importable without the kubernetes client the engine needs.
"""
