"""Orchestration Service: nodes and services are registered, replicas placed, and the result deployed."""
