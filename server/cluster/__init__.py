"""Sori on a Ray cluster with Ray Serve: a model deployment and the same FastAPI app as ingress.

Import only with Ray installed (the `sori[ray]` extra), and, for a local cluster, after
`tts.bulk.ray_data.ray_cluster` has set Ray's loopback switch.
"""
