"""The whole anchor on one machine, offline: template.yaml deployed into a local AWS emulator
(ministack), a front door serving the HTTP API at the root, and the local Stellar ledger.

`python -m infra.local_stack up` is README command one; the end-to-end tests use the same
classes on free ports.
"""
