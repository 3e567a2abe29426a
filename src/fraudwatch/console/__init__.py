"""fraudwatch.console"""
