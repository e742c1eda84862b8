"""Staff operations for the web console (FAQ, import, unanswered queue, hit testing, stats,
documents, accounts, synonyms). May import ``qa`` and ``faq``; never channels, app or HTTP."""
