"""fraudwatch.models"""
