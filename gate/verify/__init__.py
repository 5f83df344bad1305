"""`deploy-gate verify`: the watch engine apart from the pure checks it runs, as kstatus keeps `polling/`
apart from `status/`.

- engine.py: list+watch, schedule, deadlines, outages; the only caller of the API server during the wait
- snapshot.py: the live objects the watchers hold, indexed the way the checks look them up
- checks.py: pure rollout and endpoints verdicts over a snapshot (`evaluate`)
- connectivity.py, probe.py: the declared caller pairs, statically explained and live probed
- argocd.py: the touched objects of an Argo CD Application, as input instead of manifests
- run.py: the verify command from its options to its report (touched objects, the controllers' records)

Nothing is imported here: the checks must stay importable without the kubernetes client the engine needs.
"""
