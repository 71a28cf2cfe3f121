"""A seeded whole-system money simulation: thousands of simulated users doing random but valid
things against the real services (PostgreSQL, Redis, eager Celery tasks, the Stripe emulator over
HTTP through the official SDK, its webhooks delivered over HTTP to Holdfast's real endpoints),
interleaved with processor faults and the emulator's clock moving on. After every step the
invariants are checked; at the end every cent is reconciled three ways (ledger, balance columns,
the processor's own records).

    make simulate SEED=7 STEPS=20000        # python -m simulation --seed 7 --steps 20000

=============  ===================================================================
``actions``    the seeded action list (a pure function of the seed) and each action
``world``      the services a run talks to, the people in it, a fresh state
``checks``     the invariants after each step, the three-way reconciliation at the end
``runner``     run a list, report, shrink a failure to the shortest list that fails
=============  ===================================================================
"""
