"""Contracts and small infrastructure shared by every service; imports nothing from services."""
