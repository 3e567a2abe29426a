"""fraudwatch.api"""
