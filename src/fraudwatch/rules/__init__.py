"""fraudwatch.rules"""
