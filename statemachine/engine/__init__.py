"""The durable engine: workers that drive the pure interpreter over the store.

See :mod:`statemachine.engine.worker` for the loop and :mod:`statemachine.engine.commit`
for what one transaction writes.
"""
