"""Pydantic models shared by the client and the server: objects, actions, filters, sorts."""
