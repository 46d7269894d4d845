"""Webhooks for integrators: admin-managed endpoints, signed deliveries with retries, and a
guard against aiming them at the city's own network."""
