"""The Pulumi program's components, one module per concern (see __main__.py for the composition)."""
