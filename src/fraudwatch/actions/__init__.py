"""fraudwatch.actions"""
