"""The resident chat page (``/``, H5 for the WeChat menu or the district website) and its JSON
API (``POST /api/chat``, ``POST /api/feedback``). Mounted through :func:`channels.web.chat.chat_routes`."""
