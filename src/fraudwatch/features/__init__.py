"""fraudwatch.features"""
