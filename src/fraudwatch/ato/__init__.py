"""fraudwatch.ato"""
