"""fraudwatch.cases"""
