"""Expression languages of ASL: JSONPath, payload templates, intrinsics and JSONata.

Every expression is compiled once (at validation/model-build time) into an object whose
``evaluate``/``find`` methods take the data and an :class:`EvalContext`.
"""
