"""Deployment backends: turn placed replicas into running ones, as local processes or on Kubernetes/K3s."""
