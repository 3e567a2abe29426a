"""fraudwatch.sim"""
