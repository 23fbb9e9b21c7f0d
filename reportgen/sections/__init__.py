"""The report's sections, one unit each (see base.py for what a section is, and registry.py
for the list the report is made from)."""
