"""Stage 5 — operating models: drift statistics, registry operations, flows, canary and rollback,
monitoring. Imports only what the ``mlops`` extra installs."""
