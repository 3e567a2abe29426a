"""fraudwatch.storage"""
