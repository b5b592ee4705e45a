"""The collect phase: teacher completions for every prompt, resumable, cost-accounted, budget-capped.

Modules: `engine` (collect_to_store, usable without a manifest), `realtime` and `batch` (the two
ways of calling Anthropic), `budget`, `records` (chunks and teacher.jsonl), `state` (progress),
`job` (`distillery-job collect`).

Running collect + curate on examples/sinc-scatter against the fake Anthropic server, locally:

1. Start the fake API with the scripted sinc-scatter teacher (serves until Ctrl-C)::

       python -m distillery.fakes.anthropic_server --port 8765 --responder sinc-scatter

   (add e.g. ``--latency 0.05 --rate-limited 0.1 --overloaded 0.05`` to watch retries at work).

2. Point the example at it and at a local artifact directory: copy the manifest and set
   ``spec.teacher.baseUrl: http://127.0.0.1:8765`` and ``spec.storage.uri: file://./artifacts``::

       sed -e 's|mode: realtime|mode: realtime\\n    baseUrl: http://127.0.0.1:8765|' \\
           -e 's|uri: s3://ml-artifacts/distillery|uri: file://./artifacts|' \\
           -e '/credentialsSecretRef/d' examples/sinc-scatter/run.yaml > /tmp/sinc-local.yaml

3. Collect, then curate (the API key can be anything for the fake server)::

       ANTHROPIC_API_KEY=fake distillery-job collect --manifest /tmp/sinc-local.yaml --attempt 1
       distillery-job curate --manifest /tmp/sinc-local.yaml --attempt 1

   Results: ``artifacts/ml/sinc-scatter/a1/collect/teacher.jsonl`` and ``summary.json``, then
   ``artifacts/ml/sinc-scatter/a1/curate/{train,validation,rejected}.jsonl`` and ``summary.json``.
   Running collect again resumes: only prompts without a completion are sent.
   With ``mode: batch`` the same server answers through the Message Batches endpoints.
"""
