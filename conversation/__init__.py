"""The conversation layer: the one object every channel uses for side effects.

:class:`conversation.core.Conversation` turns a channel's message into a call of
:meth:`qa.service.Service.answer` and does what surrounds it: the pseudonymous user id, the rate
limit, dedupe of retried deliveries, paging state, feedback, and the question log — written by
:class:`conversation.log_writer.LogWriter` after the reply is produced, never on its critical
path. Channels never reach :mod:`qa.store`.
"""
