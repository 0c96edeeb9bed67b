"""Definition validation: JSON Schema first, then semantic rules."""
