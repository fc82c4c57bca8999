"""The write side: aggregates and their events, free of infrastructure.

Modules here import only the standard library and ``eventsourcing.domain``; the policy language in
:mod:`iamledger.domain.policy` imports only the standard library. ``tests/test_layering.py`` enforces both.
"""
