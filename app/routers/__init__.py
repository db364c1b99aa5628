"""HTTP routes, thin: each validates, calls a service, and shapes the response."""
