"""A WebSocket client (RFC 6455) of the Kubernetes channel protocols, for
the tests: stdlib only."""
