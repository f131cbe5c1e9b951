"""Comparing desired with existing: compare, plan, saved plans, rendering."""
