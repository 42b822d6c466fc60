"""The regression gate's parts; scripts/compare.py is its command line."""
