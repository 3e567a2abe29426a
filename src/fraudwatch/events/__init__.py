"""fraudwatch.events"""
