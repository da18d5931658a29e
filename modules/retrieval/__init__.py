"""Retrieval modules: long-term memory into working memory."""
