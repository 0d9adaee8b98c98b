"""WHAT SafeMap knows: the layer catalogue, validation, the stores, import/export and the demo county."""
