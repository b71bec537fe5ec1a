"""Build and run the generated Java and R bindings (``make bindings`` / ``make test-bindings``)."""
